-- mart_dated_conversion_rate: the dated conversion rates a line converts at
-- (METHODOLOGY.md A2), as the build read them. Rates are read whole on every
-- extraction, so a build finds the currencies whose rates changed by comparing
-- these rows with the last build's, not by their batch.
-- Grain: one row per dated rate.
select
    dated_conversion_rate_id,
    iso_code,
    conversion_rate,
    start_date,
    next_start_date
from staging.stg_dated_conversion_rate
