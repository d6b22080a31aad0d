-- stg_refund: the refunds of a shop's orders, from each order's current version.
-- Grain: one row per refund; inserted for the orders whose current version is from this batch.
with batch_records as (
    select distinct on (record_id)
        batch_id,
        shop_id,
        record_id,
        record
    from raw.shopify_record
    where
        batch_id = %(batch_id)s
        and object_name = 'Order'
    order by record_id asc, updated_at desc
),

refunds as (
    select
        batch_records.batch_id,
        batch_records.shop_id,
        batch_records.record_id as order_id,
        refund.value as refund
    from batch_records
    cross join lateral jsonb_array_elements(coalesce(batch_records.record -> 'refunds', '[]'::jsonb)) as refund
    -- Only the orders whose current version is this batch's, each looked up by its key: the work grows with
    -- the batch, whatever the planner guesses of a batch it has no statistics for yet.
    where (
        select orders.batch_id
        from staging.stg_order as orders
        where orders.order_id = batch_records.record_id
    ) = %(batch_id)s
),

typed as (
    select
        -- ids
        regexp_replace(refund ->> 'id', '^.*/', '') as refund_id,
        order_id,
        shop_id,
        -- dates
        (refund ->> 'createdAt')::timestamptz as created_at,
        -- metadata
        batch_id
    from refunds
)

insert into staging.stg_refund (
    refund_id,
    order_id,
    shop_id,
    created_at,
    batch_id
)
select
    refund_id,
    order_id,
    shop_id,
    created_at,
    batch_id
from typed
