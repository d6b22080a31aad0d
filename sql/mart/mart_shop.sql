-- mart_shop: a shop as its figures depend on it (METHODOLOGY.md B3): its timezone (its days are local
-- days there), its currency, where its refunds are attributed (the reviewed shop settings file; the
-- order's date unless it says otherwise), its first local day with an order, and whether this run
-- recomputes all of it (METHODOLOGY.md B4): when asked, when nothing of it is published yet, or when its
-- timezone or refund attribution changed since it was (every day and every order then moves).
-- Grain: one row per shop (built for one shop at a time).
with shops as (
    select
        shop_id,
        shop_name,
        iana_timezone,
        currency_code
    from staging.stg_shop
    where shop_id = %(shop_id)s
),

settings as (
    select
        shop_id,
        refund_attribution
    from staging.shop_setting
    where shop_id = %(shop_id)s
),

known_zones as (
    select name
    from pg_timezone_names
),

first_orders as (
    select
        shop_id,
        min(created_at) as first_order_at
    from staging.stg_order
    where shop_id = %(shop_id)s
    group by shop_id
),

published_shop as (
    select
        shop_id,
        iana_timezone,
        refund_attribution
    from viz.shop
    where shop_id = %(shop_id)s
),

zoned as (
    -- A zone the shop's figures were published in was known then; listing every zone PostgreSQL knows
    -- costs more than the rest of an incremental rebuild of a shop, so only a new zone is looked up.
    select
        shops.*,
        case
            when shops.iana_timezone = published_shop.iana_timezone then true
            else exists (
                    select 1
                    from known_zones
                    where known_zones.name = shops.iana_timezone
                )
        end as is_timezone_known
    from shops
    left join published_shop
        on shops.shop_id = published_shop.shop_id
),

attributed as (
    select
        zoned.shop_id,
        zoned.shop_name,
        zoned.iana_timezone,
        zoned.currency_code as currency,
        coalesce(settings.refund_attribution, 'order_date') as refund_attribution,
        zoned.is_timezone_known,
        case
            when zoned.is_timezone_known
                then (first_orders.first_order_at at time zone zoned.iana_timezone)::date
        end as first_order_day
    from zoned
    left join settings
        on zoned.shop_id = settings.shop_id
    left join first_orders
        on zoned.shop_id = first_orders.shop_id
),

final as (
    select
        attributed.*,
        (
            %(whole)s
            or published_shop.shop_id is null
            or published_shop.iana_timezone is distinct from attributed.iana_timezone
            or published_shop.refund_attribution is distinct from attributed.refund_attribution
        ) as is_recomputed_whole
    from attributed
    left join published_shop
        on attributed.shop_id = published_shop.shop_id
)

select * from final
