-- stg_refund_transaction: the transactions of each refund, from each order's current version
-- (kind and status in lower case, whatever case the API used).
-- Grain: one row per refund transaction; inserted for the orders whose current version is from this batch.
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

transactions as (
    select
        batch_records.batch_id,
        batch_records.shop_id,
        batch_records.record_id as order_id,
        refund.value ->> 'id' as refund_gid,
        edge.value -> 'node' as node
    from batch_records
    cross join lateral jsonb_array_elements(coalesce(batch_records.record -> 'refunds', '[]'::jsonb)) as refund
    cross join lateral jsonb_array_elements(coalesce(refund.value #> '{transactions,edges}', '[]'::jsonb)) as edge
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
        regexp_replace(node ->> 'id', '^.*/', '') as transaction_id,
        regexp_replace(refund_gid, '^.*/', '') as refund_id,
        order_id,
        shop_id,
        -- attributes
        lower(node ->> 'kind') as kind,
        lower(node ->> 'status') as status,
        -- amounts
        (node #>> '{amountSet,presentmentMoney,amount}')::numeric as amount,
        node #>> '{amountSet,presentmentMoney,currencyCode}' as currency_code,
        -- metadata
        batch_id
    from transactions
)

insert into staging.stg_refund_transaction (
    transaction_id,
    refund_id,
    order_id,
    shop_id,
    kind,
    status,
    amount,
    currency_code,
    batch_id
)
select
    transaction_id,
    refund_id,
    order_id,
    shop_id,
    kind,
    status,
    amount,
    currency_code,
    batch_id
from typed
