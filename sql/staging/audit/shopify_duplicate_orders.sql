-- Duplicate order ids in one shop's batch: two different orders sent under one id and updatedAt.
-- (The same version read twice, as paging while orders change does, is not a duplicate.)
-- Grain: one row per order id at fault.
with batch_records as (
    select
        record_id,
        updated_at,
        record
    from raw.shopify_record
    where
        batch_id = %(batch_id)s
        and object_name = 'Order'
),

versions as (
    select
        record_id,
        updated_at,
        count(distinct record) as distinct_versions
    from batch_records
    group by record_id, updated_at
)

select
    record_id,
    updated_at,
    distinct_versions
from versions
where distinct_versions > 1
order by record_id
