-- Before a shop's mart is rebuilt: its shop row, orders, refunds and scope go whole, and its days in
-- the new scope go (the days outside it keep the figures computed before).
-- Grain: the mart rows of one shop.
with removed_shop as (
    delete from mart.mart_shop
    where shop_id = %(shop_id)s
),

removed_orders as (
    delete from mart.mart_shop_order
    where shop_id = %(shop_id)s
),

removed_refunds as (
    delete from mart.mart_shop_refund
    where shop_id = %(shop_id)s
)

delete from mart.mart_shop_day_scope
where shop_id = %(shop_id)s
