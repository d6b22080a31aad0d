-- stg_subscription_line: typed current state of CPQ subscription lines
-- (SBQQ__Subscription__c). Money and quantities stay exact numeric.
-- Grain: one row per subscription Id (deleted ones kept as tombstones, is_deleted).
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
        and object_name = 'SBQQ__Subscription__c'
    order by record_id asc, system_modstamp desc
),

typed as (
    select
        -- ids
        record_id as subscription_line_id,
        record ->> 'SBQQ__Account__c' as account_id,
        record ->> 'SBQQ__Contract__c' as contract_id,
        record ->> 'SBQQ__Product__c' as product_id,
        record ->> 'SBQQ__RevisedSubscription__c' as revised_subscription_line_id,
        -- attributes
        record ->> 'CurrencyIsoCode' as currency_iso_code,
        -- amounts
        (record ->> 'SBQQ__Quantity__c')::numeric as quantity,
        (record ->> 'SBQQ__NetPrice__c')::numeric as net_price,
        (record ->> 'SBQQ__ProrateMultiplier__c')::numeric as prorate_multiplier,
        -- dates
        (record ->> 'SBQQ__StartDate__c')::date as start_date,
        (record ->> 'SBQQ__EndDate__c')::date as end_date,
        (record ->> 'SBQQ__TerminatedDate__c')::date as terminated_date,
        -- metadata
        is_deleted,
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_subscription_line as current_state (
    subscription_line_id,
    account_id,
    contract_id,
    product_id,
    revised_subscription_line_id,
    currency_iso_code,
    quantity,
    net_price,
    prorate_multiplier,
    start_date,
    end_date,
    terminated_date,
    is_deleted,
    system_modstamp,
    batch_id
)
select
    subscription_line_id,
    account_id,
    contract_id,
    product_id,
    revised_subscription_line_id,
    currency_iso_code,
    quantity,
    net_price,
    prorate_multiplier,
    start_date,
    end_date,
    terminated_date,
    is_deleted,
    system_modstamp,
    batch_id
from typed
on conflict (subscription_line_id) do update set
    account_id = excluded.account_id,
    contract_id = excluded.contract_id,
    product_id = excluded.product_id,
    revised_subscription_line_id = excluded.revised_subscription_line_id,
    currency_iso_code = excluded.currency_iso_code,
    quantity = excluded.quantity,
    net_price = excluded.net_price,
    prorate_multiplier = excluded.prorate_multiplier,
    start_date = excluded.start_date,
    end_date = excluded.end_date,
    terminated_date = excluded.terminated_date,
    is_deleted = excluded.is_deleted,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
where excluded.system_modstamp >= current_state.system_modstamp
and to_jsonb(excluded) - 'batch_id' <> to_jsonb(current_state) - 'batch_id'
