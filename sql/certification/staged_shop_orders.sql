-- The independent derivation's orders of one shop, read from staging directly: every order, or those
-- placed within the given UTC windows (the days in scope, bounded by the derivation from the shop's zone
-- in Python, so no timezone is read here: the derivation finds each order's local day itself), and, for
-- a refund-date shop, those with a refund made within them.
-- Grain: one row per order.
with windows as (
    -- One multirange: an order's test against it is a binary search, not a pass over every window.
    select range_agg(tstzrange(starts_at, ends_at)) as spans
    from unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) as window_bounds (starts_at, ends_at)
),

refunded_within as (
    select distinct refunds.order_id
    from staging.stg_refund as refunds
    cross join windows
    where
        refunds.shop_id = %(shop_id)s
        and %(refund_dates)s
        and refunds.created_at <@ windows.spans
),

orders as (
    select
        order_id,
        created_at,
        is_test,
        cancelled_at,
        shop_total,
        shop_total_currency,
        presentment_total,
        presentment_total_currency
    from staging.stg_order
    where shop_id = %(shop_id)s
)

select orders.*
from orders
cross join windows
where
    %(starts)s::timestamptz[] is null
    or orders.created_at <@ windows.spans
    or orders.order_id in (select refunded_within.order_id from refunded_within)
