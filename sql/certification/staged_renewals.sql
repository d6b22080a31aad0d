-- The independent derivation's renewal opportunities: which contract each renews.
-- Grain: one row per live opportunity that renews a contract.
select
    opportunity_id,
    renewed_contract_id
from staging.stg_opportunity
where not is_deleted
    and renewed_contract_id is not null
