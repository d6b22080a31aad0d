-- Before an order's refunds are merged, its staged refunds and their transactions go: the order's
-- current version (from this batch) says them all again, whole.
-- Grain: the refunds and refund transactions of the orders whose current version is from this batch.
with replaced_orders as (
    select order_id
    from staging.stg_order
    where batch_id = %(batch_id)s
),

removed_transactions as (
    delete from staging.stg_refund_transaction
    where order_id in (select replaced_orders.order_id from replaced_orders)
)

delete from staging.stg_refund
where order_id in (select replaced_orders.order_id from replaced_orders)
