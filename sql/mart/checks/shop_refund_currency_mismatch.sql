-- Successful refund transactions in another currency than their order's presentment currency: the
-- order's rate cannot convert them.
select
    transactions.transaction_id as record_id,
    format(
        'order %%s: refund in %%s, order presented in %%s',
        orders.order_id, transactions.currency_code, orders.presentment_total_currency
    ) as detail
from staging.stg_refund_transaction as transactions
inner join staging.stg_order as orders
    on transactions.order_id = orders.order_id
where
    transactions.shop_id = %(shop_id)s
    and orders.shop_id = %(shop_id)s
    and transactions.kind = 'refund'
    and transactions.status = 'success'
    and transactions.currency_code is distinct from orders.presentment_total_currency
order by transactions.transaction_id
