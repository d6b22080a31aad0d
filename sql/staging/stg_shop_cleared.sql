-- A whole read of a shop replaces what staging holds of it: orders deleted at the source go too.
-- Grain: every staged order, refund and refund transaction of one shop.
with removed_transactions as (
    delete from staging.stg_refund_transaction
    where shop_id = %(shop_id)s
),

removed_refunds as (
    delete from staging.stg_refund
    where shop_id = %(shop_id)s
)

delete from staging.stg_order
where shop_id = %(shop_id)s
