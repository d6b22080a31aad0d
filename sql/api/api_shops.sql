-- Every shop with published figures: its currency, timezone and refund attribution, its latest
-- certified day and certification.
-- Grain: one row per shop.
with shops as (
    select
        shop_id,
        shop_name,
        iana_timezone,
        currency,
        refund_attribution,
        certification_id,
        certified_at
    from viz.shop
),

days as (
    select
        shop_id,
        min(day) as first_day,
        max(day) as last_day
    from viz.shop_daily_revenue
    group by shop_id
),

final as (
    select
        shops.shop_id,
        shops.shop_name,
        shops.iana_timezone,
        shops.currency,
        shops.refund_attribution,
        days.first_day,
        days.last_day,
        shops.certification_id,
        shops.certified_at
    from shops
    left join days
        on shops.shop_id = days.shop_id
    order by shops.shop_id
)

select * from final
