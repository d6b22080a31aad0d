-- The independent derivation's contracts, read from staging directly.
-- Grain: one row per live contract.
select
    contract_id,
    account_id,
    opportunity_id,
    renewal_opportunity_id,
    start_date,
    end_date
from staging.stg_contract
where not is_deleted
