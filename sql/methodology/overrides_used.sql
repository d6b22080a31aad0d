-- The classification overrides this build used (for the certification record).
-- Grain: one row per overridden contract.
select contract_id
from mart.mart_contract_customer
where is_overridden
order by contract_id
