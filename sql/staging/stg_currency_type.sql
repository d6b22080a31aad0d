-- stg_currency_type: the org's currencies and which one is corporate, read
-- whole every batch.
-- Grain: one row per CurrencyType Id; the table is emptied before each whole
-- read is merged (full replication).
with batch_records as (
    select distinct on (record_id)
        batch_id,
        record_id,
        system_modstamp,
        record
    from raw.salesforce_record
    where batch_id = %(batch_id)s
        and object_name = 'CurrencyType'
    order by record_id asc, system_modstamp desc nulls last
),

typed as (
    select
        -- ids
        record_id as currency_type_id,
        -- attributes
        record ->> 'IsoCode' as iso_code,
        -- amounts
        (record ->> 'ConversionRate')::numeric as conversion_rate,
        -- attributes
        coalesce((record ->> 'IsCorporate')::boolean, false) as is_corporate,
        -- metadata
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_currency_type as current_state (
    currency_type_id,
    iso_code,
    conversion_rate,
    is_corporate,
    system_modstamp,
    batch_id
)
select
    currency_type_id,
    iso_code,
    conversion_rate,
    is_corporate,
    system_modstamp,
    batch_id
from typed
on conflict (currency_type_id) do update set
    iso_code = excluded.iso_code,
    conversion_rate = excluded.conversion_rate,
    is_corporate = excluded.is_corporate,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
