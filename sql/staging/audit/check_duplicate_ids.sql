-- Duplicate Ids in one extraction batch: two different records sent under the
-- same Id and SystemModstamp. (The same version read twice, as a lookback
-- does, is not a duplicate.)
-- Grain: one row per object and Id at fault.
-- Only a version that arrived more than once can hold two records, so the
-- records themselves are compared for those alone (found from the keys).
with batch_records as not materialized (
    select
        object_name,
        record_id,
        system_modstamp,
        record
    from raw.salesforce_record
    where batch_id = %(batch_id)s
),

repeated_versions as (
    select
        object_name,
        record_id,
        system_modstamp
    from batch_records
    group by object_name, record_id, system_modstamp
    having count(*) > 1
),

versions as (
    select
        batch_records.object_name,
        batch_records.record_id,
        batch_records.system_modstamp,
        count(distinct batch_records.record - 'attributes') as distinct_versions
    from batch_records
    inner join repeated_versions
        on
            batch_records.object_name = repeated_versions.object_name
            and batch_records.record_id = repeated_versions.record_id
            -- a record without a SystemModstamp is one version too, as in the grouping above
            and batch_records.system_modstamp is not distinct from repeated_versions.system_modstamp
    group by batch_records.object_name, batch_records.record_id, batch_records.system_modstamp
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
