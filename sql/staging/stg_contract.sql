-- stg_contract: typed current state of Salesforce Contracts.
-- Grain: one row per Contract Id (deleted ones kept as tombstones, is_deleted).
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
        and object_name = 'Contract'
    order by record_id asc, system_modstamp desc
),

typed as (
    select
        -- ids
        record_id as contract_id,
        record ->> 'AccountId' as account_id,
        record ->> 'SBQQ__Opportunity__c' as opportunity_id,
        record ->> 'SBQQ__RenewalOpportunity__c' as renewal_opportunity_id,
        -- attributes
        record ->> 'Status' as status,
        -- dates
        (record ->> 'StartDate')::date as start_date,
        (record ->> 'EndDate')::date as end_date,
        -- metadata
        is_deleted,
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_contract as current_state (
    contract_id,
    account_id,
    opportunity_id,
    renewal_opportunity_id,
    status,
    start_date,
    end_date,
    is_deleted,
    system_modstamp,
    batch_id
)
select
    contract_id,
    account_id,
    opportunity_id,
    renewal_opportunity_id,
    status,
    start_date,
    end_date,
    is_deleted,
    system_modstamp,
    batch_id
from typed
on conflict (contract_id) do update set
    account_id = excluded.account_id,
    opportunity_id = excluded.opportunity_id,
    renewal_opportunity_id = excluded.renewal_opportunity_id,
    status = excluded.status,
    start_date = excluded.start_date,
    end_date = excluded.end_date,
    is_deleted = excluded.is_deleted,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
where excluded.system_modstamp >= current_state.system_modstamp
and to_jsonb(excluded) - 'batch_id' <> to_jsonb(current_state) - 'batch_id'
