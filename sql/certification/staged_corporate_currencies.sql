-- The independent derivation's corporate currency (the reporting currency).
-- Grain: one row per currency marked corporate.
select iso_code
from staging.stg_currency_type
where is_corporate
