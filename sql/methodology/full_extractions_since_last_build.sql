-- The batches staged since the last build that read every object whole (a
-- full extraction). A whole read replaces an object's staged records, so the
-- records purged from the org leave staging with no batch to show it: the
-- lines, graces, intervals and digests are then rebuilt whole. An incremental batch
-- reads whole only an object that never had a record, which purges nothing.
-- Grain: one row per batch.
select batch_id
from staging.extraction_audit
where
    batch_id in (select new_staged_batch.batch_id from pg_temp.new_staged_batch)
    and replication = 'incremental'
group by batch_id
having bool_and(watermark_before is null)
order by batch_id
