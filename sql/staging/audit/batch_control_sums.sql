-- The control sums of one batch: the source's SUM() at extraction against the staged live records'.
-- Grain: one row per object and field summed.
select
    object_name,
    field_name,
    source_sum,
    staged_sum
from staging.extraction_control_sum
where batch_id = %(batch_id)s
order by object_name, field_name
