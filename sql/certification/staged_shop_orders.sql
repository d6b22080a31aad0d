-- The independent derivation's orders of one shop, read from staging directly: every order, or those
-- placed within the given UTC windows (each a day in scope widened by a day either side, so no
-- timezone is needed here: the derivation finds each order's local day itself), and, for a refund-date
-- shop, those with a refund made within them.
-- Grain: one row per order.
with windows as (
    select
        starts_at,
        ends_at
    from unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) as window_bounds (starts_at, ends_at)
),

refunded_within as (
    select distinct refunds.order_id
    from staging.stg_refund as refunds
    inner join windows
        on
            refunds.created_at >= windows.starts_at
            and refunds.created_at < windows.ends_at
    where
        refunds.shop_id = %(shop_id)s
        and %(refund_dates)s
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
where
    %(starts)s::timestamptz[] is null
    or exists (
        select 1
        from windows
        where
            orders.created_at >= windows.starts_at
            and orders.created_at < windows.ends_at
    )
    or orders.order_id in (select refunded_within.order_id from refunded_within)
