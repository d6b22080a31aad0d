-- stg_dated_conversion_rate: the org's dated exchange rates (units of the
-- currency per one unit of the corporate currency), read whole every batch.
-- Grain: one row per DatedConversionRate Id; the table is emptied before each
-- whole read is merged (full replication).
with batch_records as (
    select distinct on (record_id)
        batch_id,
        record_id,
        system_modstamp,
        record
    from raw.salesforce_record
    where batch_id = %(batch_id)s
        and object_name = 'DatedConversionRate'
    order by record_id asc, system_modstamp desc nulls last
),

typed as (
    select
        -- ids
        record_id as dated_conversion_rate_id,
        -- attributes
        record ->> 'IsoCode' as iso_code,
        -- amounts
        (record ->> 'ConversionRate')::numeric as conversion_rate,
        -- dates
        (record ->> 'StartDate')::date as start_date,
        (record ->> 'NextStartDate')::date as next_start_date,
        -- metadata
        system_modstamp,
        batch_id
    from batch_records
)

insert into staging.stg_dated_conversion_rate as current_state (
    dated_conversion_rate_id,
    iso_code,
    conversion_rate,
    start_date,
    next_start_date,
    system_modstamp,
    batch_id
)
select
    dated_conversion_rate_id,
    iso_code,
    conversion_rate,
    start_date,
    next_start_date,
    system_modstamp,
    batch_id
from typed
on conflict (dated_conversion_rate_id) do update set
    iso_code = excluded.iso_code,
    conversion_rate = excluded.conversion_rate,
    start_date = excluded.start_date,
    next_start_date = excluded.next_start_date,
    system_modstamp = excluded.system_modstamp,
    batch_id = excluded.batch_id
