-- The extraction audit of one batch, object by object in extraction order.
-- Grain: one row per object of the batch.
with audit as (
    select
        object_name,
        api,
        replication,
        records_fetched,
        deleted_fetched,
        watermark_before,
        watermark_after,
        source_count,
        staged_count,
        extracted_at
    from staging.extraction_audit
    where batch_id = %(batch_id)s
),

final as (
    select
        object_name,
        api,
        replication,
        records_fetched,
        deleted_fetched,
        watermark_before,
        watermark_after,
        source_count,
        staged_count
    from audit
    order by extracted_at
)

select * from final
