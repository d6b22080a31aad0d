-- mart_shop_day: a shop's figures per local day (METHODOLOGY.md B3): gross revenue and count of the
-- orders that count, refunds and count of the refunds that moved money, net = gross - refunds, in
-- the shop's currency. Every day in scope has a row, zeros included, so a quiet day is visible.
-- Grain: one row per shop and local day in this run's scope (built for one shop at a time).
with shop as (
    select
        shop_id,
        currency
    from mart.mart_shop
    where shop_id = %(shop_id)s
),

scope as (
    select
        shop_id,
        day
    from mart.mart_shop_day_scope
    where shop_id = %(shop_id)s
),

orders as (
    select
        order_day,
        sum(gross_revenue) as gross_revenue,
        count(*) as order_count
    from mart.mart_shop_order
    where
        shop_id = %(shop_id)s
        and is_counted
        and order_day in (select scope.day from scope)
    group by order_day
),

refunds as (
    select
        attributed_day,
        sum(refund_amount) as refunds,
        count(*) as refund_count
    from mart.mart_shop_refund
    where
        shop_id = %(shop_id)s
        and attributed_day in (select scope.day from scope)
    group by attributed_day
),

final as (
    select
        scope.shop_id,
        scope.day,
        shop.currency,
        coalesce(orders.gross_revenue, 0) as gross_revenue,
        coalesce(refunds.refunds, 0) as refunds,
        coalesce(orders.gross_revenue, 0) - coalesce(refunds.refunds, 0) as net_revenue,
        coalesce(orders.order_count, 0) as order_count,
        coalesce(refunds.refund_count, 0) as refund_count
    from scope
    inner join shop
        on scope.shop_id = shop.shop_id
    left join orders
        on scope.day = orders.order_day
    left join refunds
        on scope.day = refunds.attributed_day
)

select * from final
