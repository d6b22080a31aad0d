-- Orders whose presentment total is zero but that have successful refunds: the order's rate (shop
-- money / presentment money) does not exist.
select distinct
    orders.order_id as record_id,
    format('order %%s: presentment total 0 with refunds', orders.order_name) as detail
from staging.stg_order as orders
inner join staging.stg_refund_transaction as transactions
    on orders.order_id = transactions.order_id
where
    orders.shop_id = %(shop_id)s
    and transactions.shop_id = %(shop_id)s
    and orders.presentment_total = 0
    and transactions.kind = 'refund'
    and transactions.status = 'success'
order by orders.order_id
