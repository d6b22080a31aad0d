-- mart_shop_refund: each refund of a counted order that moved money back (METHODOLOGY.md B2, B3): the
-- sum of its successful refund transactions, each converted from the presentment currency at the
-- order's own rate (shop money / presentment money of its total) and rounded half to even to the cent,
-- on the order's local date, or on the refund's own local date for a refund-date shop. Built for the
-- refunds of the orders rebuilt this run and for those attributed to a day in scope.
-- Grain: one row per refund with a successful refund transaction (built for one shop at a time).
with shop as (
    select
        shop_id,
        iana_timezone,
        refund_attribution,
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

rebuilt_orders as (
    select mart_orders.order_id
    from mart.mart_shop_order as mart_orders
    inner join shop
        on mart_orders.shop_id = shop.shop_id
    where
        mart_orders.shop_id = %(shop_id)s
        and (shop.is_recomputed_whole or mart_orders.order_day in (select scope.day from scope))
),

refunds as (
    select
        staged.refund_id,
        staged.order_id,
        staged.created_at
    from staging.stg_refund as staged
    cross join shop
    where
        staged.shop_id = %(shop_id)s
        and (
            staged.order_id in (select rebuilt_orders.order_id from rebuilt_orders)
            or (
                shop.refund_attribution = 'refund_date'
                and (staged.created_at at time zone shop.iana_timezone)::date in (select scope.day from scope)
            )
        )
),

counted_orders as (
    select
        order_id,
        order_day
    from mart.mart_shop_order
    where
        shop_id = %(shop_id)s
        and is_counted
        and order_id in (select refunds.order_id from refunds)
),

orders as (
    select
        order_id,
        shop_total,
        presentment_total
    from staging.stg_order
    where
        shop_id = %(shop_id)s
        and order_id in (select refunds.order_id from refunds)
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
        and refund_id in (select refunds.refund_id from refunds)
        and kind = 'refund'
        and status = 'success'
),

converted as (
    select
        successful_transactions.refund_id,
        successful_transactions.order_id,
        mart.round_half_even(
            (successful_transactions.amount * orders.shop_total)::numeric(1000, 40) / orders.presentment_total, 2
        ) as shop_amount
    from successful_transactions
    inner join orders
        on successful_transactions.order_id = orders.order_id
    where orders.presentment_total <> 0
),

refund_amounts as (
    select
        refund_id,
        order_id,
        sum(shop_amount) as refund_amount
    from converted
    group by refund_id, order_id
),

final as (
    select
        refund_amounts.refund_id,
        refund_amounts.order_id,
        shop.shop_id,
        case
            when shop.refund_attribution = 'refund_date'
                then (refunds.created_at at time zone shop.iana_timezone)::date
            else counted_orders.order_day
        end as attributed_day,
        refund_amounts.refund_amount
    from refund_amounts
    inner join counted_orders
        on refund_amounts.order_id = counted_orders.order_id
    inner join refunds
        on refund_amounts.refund_id = refunds.refund_id
    cross join shop
)

select * from final
