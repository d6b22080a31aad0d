-- The independent derivation's accounts: name and business unit.
-- Grain: one row per live account.
select
    account_id,
    account_name,
    business_unit
from staging.stg_account
where not is_deleted
