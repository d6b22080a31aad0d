-- The shop as its published days were computed (name, timezone, currency, refund attribution),
-- under the same certification.
-- Grain: one row per shop.
with certification as (
    select
        certification_id,
        certified_at
    from certification.certification_run
    where
        certification_id = %(certification_id)s
        and status = 'certified'
),

shop as (
    select
        shop_id,
        shop_name,
        iana_timezone,
        currency,
        refund_attribution
    from mart.mart_shop
    where shop_id = %(shop_id)s
)

insert into viz.shop as shown (
    shop_id,
    shop_name,
    iana_timezone,
    currency,
    refund_attribution,
    certification_id,
    certified_at
)
select
    shop.shop_id,
    shop.shop_name,
    shop.iana_timezone,
    shop.currency,
    shop.refund_attribution,
    certification.certification_id,
    certification.certified_at
from shop
cross join certification
on conflict (shop_id) do update set
    shop_name = excluded.shop_name,
    iana_timezone = excluded.iana_timezone,
    currency = excluded.currency,
    refund_attribution = excluded.refund_attribution,
    certification_id = excluded.certification_id,
    certified_at = excluded.certified_at
