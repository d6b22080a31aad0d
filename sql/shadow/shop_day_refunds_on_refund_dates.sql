-- Shadow: one shop's days in scope with every refund on its own local date,
-- whatever the shop's reviewed attribution (METHODOLOGY.md B3 allows either).
-- For a shop that attributes refunds to order dates, the difference from
-- production is what switching it would move between days. Refunds are those
-- made on a day in scope, of orders that count (B1), in shop money at the
-- order's own rate, each transaction rounded half to even (B2); gross revenue
-- is production's.
-- Grain: one row per day in the shop's scope.
with shop as (
    select iana_timezone
    from mart.mart_shop
    where
        shop_id = %(shop_id)s
        and is_timezone_known
),

scope as (
    select day
    from mart.mart_shop_day_scope
    where shop_id = %(shop_id)s
),

refunds as (
    select
        staged.refund_id,
        staged.order_id,
        (staged.created_at at time zone shop.iana_timezone)::date as refund_day
    from staging.stg_refund as staged
    cross join shop
    where
        staged.shop_id = %(shop_id)s
        and (staged.created_at at time zone shop.iana_timezone)::date in (select scope.day from scope)
),

successful_transactions as (
    select
        refund_id,
        order_id,
        amount
    from staging.stg_refund_transaction
    where
        shop_id = %(shop_id)s
        and order_id in (select refunds.order_id from refunds)
        and kind = 'refund'
        and status = 'success'
),

refunded_per_order as (
    select
        order_id,
        sum(amount) as refunded_presentment
    from successful_transactions
    group by order_id
),

counted_orders as (
    select
        orders.order_id,
        orders.shop_total,
        orders.presentment_total
    from staging.stg_order as orders
    left join refunded_per_order
        on orders.order_id = refunded_per_order.order_id
    where
        orders.shop_id = %(shop_id)s
        and orders.order_id in (select refunds.order_id from refunds)
        and orders.shop_total is not null
        and not orders.is_test
        and not (
            orders.cancelled_at is not null
            and coalesce(refunded_per_order.refunded_presentment, 0) >= orders.presentment_total
        )
),

refund_amounts as (
    select
        successful_transactions.refund_id,
        sum(mart.round_half_even(
            (successful_transactions.amount * counted_orders.shop_total)::numeric(1000, 40)
            / counted_orders.presentment_total, 2
        )) as refund_amount
    from successful_transactions
    inner join counted_orders
        on successful_transactions.order_id = counted_orders.order_id
    where
        counted_orders.presentment_total <> 0
        and successful_transactions.refund_id in (select refunds.refund_id from refunds)
    group by successful_transactions.refund_id
),

by_day as (
    select
        refunds.refund_day,
        sum(refund_amounts.refund_amount) as refunds,
        count(*) as refund_count
    from refund_amounts
    inner join refunds
        on refund_amounts.refund_id = refunds.refund_id
    group by refunds.refund_day
),

production as (
    select
        day,
        gross_revenue
    from mart.mart_shop_day
    where shop_id = %(shop_id)s
),

final as (
    select
        scope.day,
        coalesce(production.gross_revenue, 0) as gross_revenue,
        coalesce(by_day.refunds, 0) as refunds,
        coalesce(production.gross_revenue, 0) - coalesce(by_day.refunds, 0) as net_revenue,
        coalesce(by_day.refund_count, 0) as refund_count
    from scope
    left join production
        on scope.day = production.day
    left join by_day
        on scope.day = by_day.refund_day
)

select * from final
