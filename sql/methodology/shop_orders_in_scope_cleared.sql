-- Before a shop's orders are rebuilt: the rows of every order placed on a day in scope go, with every
-- refund of those orders or attributed to a day in scope; all of them when the shop is recomputed whole
-- (its days may have moved). They are written again from staging (mart_shop_order, mart_shop_refund).
-- Grain: the shop's order and refund rows in scope.
with shop as (
    select
        shop_id,
        is_recomputed_whole
    from mart.mart_shop
    where shop_id = %(shop_id)s
),

scope as (
    select day
    from mart.mart_shop_day_scope
    where shop_id = %(shop_id)s
),

removed_orders as (
    delete from mart.mart_shop_order as orders
    using shop
    where
        orders.shop_id = %(shop_id)s
        and orders.shop_id = shop.shop_id
        and (shop.is_recomputed_whole or orders.order_day in (select scope.day from scope))
    returning orders.order_id
)

delete from mart.mart_shop_refund as refunds
using shop
where
    refunds.shop_id = %(shop_id)s
    and refunds.shop_id = shop.shop_id
    and (
        shop.is_recomputed_whole
        or refunds.order_id in (select removed_orders.order_id from removed_orders)
        or refunds.attributed_day in (select scope.day from scope)
    )
