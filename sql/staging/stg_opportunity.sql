-- stg_opportunity: typed current state of Salesforce Opportunities (the renewal
-- and amendment links of CPQ).
-- Grain: one row per Opportunity Id (deleted ones kept as tombstones, is_deleted).
-- Merges one extraction batch; a version never replaces a newer one, and a
-- version re-read unchanged keeps the batch that staged it (a mart build
-- recomputes what newer batches staged).
with batch_records as (
    select distinct on (record_id)
        batch_id,
        record_id,
        system_modstamp,
        is_deleted,
        record
    from raw.salesforce_record
    where batch_id = %(batch_id)s
        and object_name = 'Opportunity'
    order by record_id asc, system_modstamp desc
),

typed as (
    select
        -- ids
        record_id as opportunity_id,
        record ->> 'AccountId' as account_id,
        record ->> 'SBQQ__RenewedContract__c' as renewed_contract_id,
        record ->> 'SBQQ__AmendedContract__c' as amended_contract_id,
        -- metadata
        is_deleted,
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_opportunity as current_state (
    opportunity_id,
    account_id,
    renewed_contract_id,
    amended_contract_id,
    is_deleted,
    system_modstamp,
    batch_id
)
select
    opportunity_id,
    account_id,
    renewed_contract_id,
    amended_contract_id,
    is_deleted,
    system_modstamp,
    batch_id
from typed
on conflict (opportunity_id) do update set
    account_id = excluded.account_id,
    renewed_contract_id = excluded.renewed_contract_id,
    amended_contract_id = excluded.amended_contract_id,
    is_deleted = excluded.is_deleted,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
where excluded.system_modstamp >= current_state.system_modstamp
and to_jsonb(excluded) - 'batch_id' <> to_jsonb(current_state) - 'batch_id'
