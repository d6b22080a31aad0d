-- What a staged Salesforce batch did, measured before transform (issue 14): per object, the record versions
-- it brought that no earlier staged batch had (changes and deletions: an incremental read starts a little
-- before its watermark, so it reads the previous batch's last changes again, and a full read reads
-- everything again; neither is a change), the share of the object's records it deleted, the change in the
-- source's live records and control sums since the previous staged batch, and the accounts it brought for
-- the first time. Counts and ratios only: a control sum's change is a ratio of two exact sums, computed here
-- so no amount leaves the warehouse. Ratios are rounded to 6 places: they are statistics, never money.
-- Grain: one row per metric and subject (an object, or an object's control-sum field).
with audit as (
    select
        object_name,
        records_fetched,
        source_count
    from staging.extraction_audit
    where batch_id = %(batch_id)s
),

staged_before as (
    select batch_id
    from raw.extraction_batch
    where
        source = 'salesforce'
        and status = 'staged'
        and batch_id < %(batch_id)s
),

-- A version is a record at its SystemModstamp; an object without one (read whole every time) is compared
-- by its content.
new_versions as (
    select
        records.object_name,
        count(*) as changed,
        count(*) filter (where records.is_deleted) as deleted
    from raw.salesforce_record as records
    where
        records.batch_id = %(batch_id)s
        and not exists (
            select 1
            from raw.salesforce_record as earlier
            where
                earlier.record_id = records.record_id
                and earlier.object_name = records.object_name
                and earlier.batch_id in (select staged_before.batch_id from staged_before)
                and (
                    earlier.system_modstamp = records.system_modstamp
                    or (records.system_modstamp is null and earlier.record = records.record)
                )
        )
    group by records.object_name
),

batch_changes as (
    select
        audit.object_name,
        audit.records_fetched,
        audit.source_count,
        coalesce(new_versions.changed, 0) as changed,
        coalesce(new_versions.deleted, 0) as deleted
    from audit
    left join new_versions
        on audit.object_name = new_versions.object_name
),

previous_audit as (
    select distinct on (object_name)
        object_name,
        batch_id,
        source_count
    from staging.extraction_audit
    where batch_id in (select staged_before.batch_id from staged_before)
    order by object_name asc, batch_id desc
),

control_sums as (
    select
        object_name,
        field_name,
        source_sum
    from staging.extraction_control_sum
    where batch_id = %(batch_id)s
),

previous_control_sums as (
    select
        sums.object_name,
        sums.field_name,
        sums.source_sum
    from staging.extraction_control_sum as sums
    inner join previous_audit
        on
            sums.batch_id = previous_audit.batch_id
            and sums.object_name = previous_audit.object_name
),

new_accounts as (
    select count(*) as accounts
    from raw.salesforce_record as accounts
    where
        accounts.batch_id = %(batch_id)s
        and accounts.object_name = 'Account'
        and not accounts.is_deleted
        and not exists (
            select 1
            from raw.salesforce_record as earlier
            where
                earlier.record_id = accounts.record_id
                and earlier.batch_id in (select staged_before.batch_id from staged_before)
        )
),

records_changed as (
    select
        'records_changed' as metric,
        object_name as subject,
        changed::numeric as value,
        jsonb_build_object('records_fetched', records_fetched, 'deleted', deleted) as detail
    from batch_changes
),

deleted_share as (
    select
        'deleted_share' as metric,
        object_name as subject,
        round(deleted::numeric / nullif(source_count + deleted, 0), 6) as value,
        jsonb_build_object('deleted', deleted, 'live_records', source_count) as detail
    from batch_changes
),

live_records_change as (
    select
        'live_records_change' as metric,
        audit.object_name as subject,
        round(audit.source_count::numeric / nullif(previous_audit.source_count, 0) - 1, 6) as value,
        jsonb_build_object(
            'live_records', audit.source_count, 'previous_live_records', previous_audit.source_count
        ) as detail
    from audit
    inner join previous_audit
        on audit.object_name = previous_audit.object_name
),

control_sum_change as (
    select
        'control_sum_change' as metric,
        control_sums.object_name || '.' || control_sums.field_name as subject,
        round(control_sums.source_sum / nullif(previous_control_sums.source_sum, 0) - 1, 6) as value,
        jsonb_build_object(
            'source_sum', control_sums.source_sum::text, 'previous_source_sum', previous_control_sums.source_sum::text
        ) as detail
    from control_sums
    inner join previous_control_sums
        on
            control_sums.object_name = previous_control_sums.object_name
            and control_sums.field_name = previous_control_sums.field_name
),

new_account_count as (
    select
        'new_accounts' as metric,
        'Account' as subject,
        new_accounts.accounts::numeric as value,
        '{}'::jsonb as detail
    from new_accounts
    -- Only when the batch read accounts at all.
    inner join audit
        on audit.object_name = 'Account'
),

measured as (
    select * from records_changed
    union all
    select * from deleted_share
    union all
    select * from live_records_change
    union all
    select * from control_sum_change
    union all
    select * from new_account_count
),

final as (
    select * from measured
    where value is not null
)

select * from final
