-- The independent derivation's refunds of one shop, with their transactions, from staging directly.
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
where refunds.shop_id = %(shop_id)s
order by refunds.order_id, refunds.refund_id, transactions.transaction_id
