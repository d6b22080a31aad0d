-- mart_shop_order: each order of a shop, on its local order date, and whether it counts (METHODOLOGY.md
-- B1, B2): a test order never counts; a cancelled order whose successful refund transactions add up to
-- at least its total (in the presentment currency the refunds are made in) does not count; every other
-- order counts its shop-money total as gross, whatever its later edits. Built for the orders placed on
-- the days in scope (all of the shop's when it is recomputed whole): each row depends on its order only.
-- Grain: one row per order (built for one shop at a time).
with shop as (
    select
        shop_id,
        iana_timezone,
        is_recomputed_whole
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

orders as (
    select
        staged.order_id,
        staged.shop_id,
        staged.is_test,
        staged.cancelled_at,
        staged.created_at,
        staged.shop_total,
        staged.presentment_total
    from staging.stg_order as staged
    inner join shop
        on staged.shop_id = shop.shop_id
    where
        staged.shop_id = %(shop_id)s
        and (
            shop.is_recomputed_whole
            or (staged.created_at at time zone shop.iana_timezone)::date in (select scope.day from scope)
        )
),

refunded as (
    select
        transactions.order_id,
        sum(transactions.amount) as refunded_presentment
    from staging.stg_refund_transaction as transactions
    inner join orders
        on transactions.order_id = orders.order_id
    where
        transactions.shop_id = %(shop_id)s
        and transactions.kind = 'refund'
        and transactions.status = 'success'
    group by transactions.order_id
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
