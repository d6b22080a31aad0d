-- The incrementally extracted objects a batch staged since the last build read
-- whole (no watermark yet). A whole read replaces an object's staged records,
-- so records purged from the org are gone from staging without a batch to show
-- it: the lines, graces and intervals are then rebuilt whole.
-- Grain: one row per object.
select distinct object_name
from staging.extraction_audit
where
    batch_id in (select new_staged_batch.batch_id from pg_temp.new_staged_batch)
    and replication = 'incremental'
    and watermark_before is null
order by object_name
