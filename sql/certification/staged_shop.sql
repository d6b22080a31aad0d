-- The independent derivation's shop: its timezone, currency and refund attribution, from staging.
-- Grain: one row (the shop).
select
    shops.shop_id,
    shops.iana_timezone,
    shops.currency_code,
    coalesce(settings.refund_attribution, 'order_date') = 'refund_date' as is_refund_date_shop
from staging.stg_shop as shops
left join staging.shop_setting as settings
    on shops.shop_id = settings.shop_id
where shops.shop_id = %(shop_id)s
