-- stg_product: typed current state of Product2 (charge type and term drive MRR).
-- Grain: one row per Product2 Id (deleted ones kept as tombstones, is_deleted).
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
        and object_name = 'Product2'
    order by record_id asc, system_modstamp desc
),

typed as (
    select
        -- ids
        record_id as product_id,
        -- attributes
        record ->> 'Name' as product_name,
        record ->> 'Family' as product_family,
        record ->> 'SBQQ__ChargeType__c' as charge_type,
        (record ->> 'SBQQ__SubscriptionTerm__c')::numeric as subscription_term_months,
        -- metadata
        is_deleted,
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_product as current_state (
    product_id,
    product_name,
    product_family,
    charge_type,
    subscription_term_months,
    is_deleted,
    system_modstamp,
    batch_id
)
select
    product_id,
    product_name,
    product_family,
    charge_type,
    subscription_term_months,
    is_deleted,
    system_modstamp,
    batch_id
from typed
on conflict (product_id) do update set
    product_name = excluded.product_name,
    product_family = excluded.product_family,
    charge_type = excluded.charge_type,
    subscription_term_months = excluded.subscription_term_months,
    is_deleted = excluded.is_deleted,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
where excluded.system_modstamp >= current_state.system_modstamp
and to_jsonb(excluded) - 'batch_id' <> to_jsonb(current_state) - 'batch_id'
