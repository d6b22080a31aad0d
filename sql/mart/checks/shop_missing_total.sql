-- Orders without a total in shop money or in presentment money: nothing says what they earned.
select
    order_id as record_id,
    format('order %%s has no totalPriceSet amount', order_name) as detail
from staging.stg_order
where
    shop_id = %(shop_id)s
    and (shop_total is null or presentment_total is null)
order by order_id
