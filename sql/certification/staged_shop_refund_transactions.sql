-- The independent derivation's refunds of the given orders, with their transactions, from staging directly.
-- Grain: one row per refund transaction.
select
    refunds.order_id,
    refunds.refund_id,
    refunds.created_at,
    transactions.transaction_id,
    transactions.kind,
    transactions.status,
    transactions.amount,
    transactions.currency_code
from staging.stg_refund as refunds
inner join staging.stg_refund_transaction as transactions
    on refunds.refund_id = transactions.refund_id
where
    refunds.order_id = any(%(order_ids)s::text[])
    and transactions.order_id = any(%(order_ids)s::text[])
order by refunds.order_id, refunds.refund_id, transactions.transaction_id
