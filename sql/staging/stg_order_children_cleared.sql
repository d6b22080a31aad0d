-- Before an order's refunds are merged, its staged refunds and their transactions go: the order's
-- current version (from this batch) says them all again, whole.
-- Grain: the refunds and refund transactions of the orders whose current version is from this batch.
with replaced_orders as (
    select records.record_id as order_id
    from raw.shopify_record as records
    where
        records.batch_id = %(batch_id)s
        and records.object_name = 'Order'
        -- Each of the batch's orders looked up by its key: the work grows with the batch, whatever the
        -- planner guesses of a batch it has no statistics for yet.
        and (
            select orders.batch_id
            from staging.stg_order as orders
            where orders.order_id = records.record_id
        ) = %(batch_id)s
),

removed_transactions as (
    delete from staging.stg_refund_transaction
    where order_id in (select replaced_orders.order_id from replaced_orders)
)

delete from staging.stg_refund
where order_id in (select replaced_orders.order_id from replaced_orders)
