-- The independent derivation's subscription lines, read from staging directly.
-- Grain: one row per live subscription line.
select
    subscription_line_id,
    contract_id,
    product_id,
    currency_iso_code,
    quantity,
    net_price,
    prorate_multiplier,
    start_date,
    end_date,
    terminated_date
from staging.stg_subscription_line
where not is_deleted
