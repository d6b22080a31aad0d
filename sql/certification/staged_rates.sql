-- The independent derivation's dated conversion rates, in time order per currency.
-- Grain: one row per dated conversion rate.
select
    iso_code,
    conversion_rate,
    start_date,
    next_start_date
from staging.stg_dated_conversion_rate
order by iso_code, start_date
