-- stg_shop: a Shopify shop as its own API describes it (timezone, currency).
-- Grain: one row per shop; merges one extraction batch (a shop's batch holds the shop).
with batch_records as (
    select
        batch_id,
        shop_id,
        record
    from raw.shopify_record
    where
        batch_id = %(batch_id)s
        and object_name = 'Shop'
),

typed as (
    select
        -- ids
        shop_id,
        record ->> 'id' as shop_gid,
        -- attributes
        record ->> 'name' as shop_name,
        record ->> 'ianaTimezone' as iana_timezone,
        record ->> 'currencyCode' as currency_code,
        -- metadata
        batch_id
    from batch_records
)

insert into staging.stg_shop as current_state (
    shop_id,
    shop_gid,
    shop_name,
    iana_timezone,
    currency_code,
    batch_id
)
select
    shop_id,
    shop_gid,
    shop_name,
    iana_timezone,
    currency_code,
    batch_id
from typed
on conflict (shop_id) do update set
    shop_gid = excluded.shop_gid,
    shop_name = excluded.shop_name,
    iana_timezone = excluded.iana_timezone,
    currency_code = excluded.currency_code,
    batch_id = excluded.batch_id
