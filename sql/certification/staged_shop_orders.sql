-- The independent derivation's orders of one shop, read from staging directly.
-- Grain: one row per order.
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
