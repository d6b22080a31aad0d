-- mart_shop_order: each order of a shop, on its local order date, and whether it counts (METHODOLOGY.md
-- B1, B2): a test order never counts; a cancelled order whose successful refund transactions add up to
-- at least its total (in the presentment currency the refunds are made in) does not count; every other
-- order counts its shop-money total as gross, whatever its later edits.
-- Grain: one row per order (built for one shop at a time).
with shop as (
    select
        shop_id,
        iana_timezone
    from mart.mart_shop
    where
        shop_id = %(shop_id)s
        and is_timezone_known
),

orders as (
    select
        order_id,
        shop_id,
        is_test,
        cancelled_at,
        created_at,
        shop_total,
        presentment_total
    from staging.stg_order
    where shop_id = %(shop_id)s
),

refunded as (
    select
        order_id,
        sum(amount) as refunded_presentment
    from staging.stg_refund_transaction
    where
        shop_id = %(shop_id)s
        and kind = 'refund'
        and status = 'success'
    group by order_id
),

final as (
    select
        orders.order_id,
        orders.shop_id,
        (orders.created_at at time zone shop.iana_timezone)::date as order_day,
        not orders.is_test
        and not (
            orders.cancelled_at is not null
            and coalesce(refunded.refunded_presentment, 0) >= orders.presentment_total
        ) as is_counted,
        orders.shop_total as gross_revenue
    from orders
    cross join shop
    left join refunded
        on orders.order_id = refunded.order_id
    where orders.shop_total is not null
)

select * from final
