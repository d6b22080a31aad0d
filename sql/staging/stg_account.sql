-- stg_account: typed current state of Salesforce Accounts.
-- Grain: one row per Account Id (deleted ones kept as tombstones, is_deleted).
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
        and object_name = 'Account'
    order by record_id asc, system_modstamp desc
),

typed as (
    select
        -- ids
        record_id as account_id,
        record ->> 'ParentId' as parent_account_id,
        -- attributes
        record ->> 'Name' as account_name,
        record ->> %(business_unit_field)s as business_unit,
        record ->> 'CurrencyIsoCode' as currency_iso_code,
        -- metadata
        is_deleted,
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_account as current_state (
    account_id,
    parent_account_id,
    account_name,
    business_unit,
    currency_iso_code,
    is_deleted,
    system_modstamp,
    batch_id
)
select
    account_id,
    parent_account_id,
    account_name,
    business_unit,
    currency_iso_code,
    is_deleted,
    system_modstamp,
    batch_id
from typed
on conflict (account_id) do update set
    parent_account_id = excluded.parent_account_id,
    account_name = excluded.account_name,
    business_unit = excluded.business_unit,
    currency_iso_code = excluded.currency_iso_code,
    is_deleted = excluded.is_deleted,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
where excluded.system_modstamp >= current_state.system_modstamp
and to_jsonb(excluded) - 'batch_id' <> to_jsonb(current_state) - 'batch_id'
