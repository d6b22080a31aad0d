-- Duplicate Ids in one extraction batch: two different records sent under the
-- same Id and SystemModstamp. (The same version read twice, as a lookback
-- does, is not a duplicate.)
-- Grain: one row per object and Id at fault.
with batch_records as (
    select
        object_name,
        record_id,
        system_modstamp,
        record - 'attributes' as record
    from raw.salesforce_record
    where batch_id = %(batch_id)s
),

versions as (
    select
        object_name,
        record_id,
        system_modstamp,
        count(distinct record) as distinct_versions
    from batch_records
    group by object_name, record_id, system_modstamp
),

final as (
    select
        object_name,
        record_id,
        system_modstamp,
        distinct_versions
    from versions
    where distinct_versions > 1
    order by object_name, record_id
)

select * from final
