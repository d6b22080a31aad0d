-- Every shop with published figures or a certification attempt: its currency, timezone and refund
-- attribution, its certified days and the certification they are from, and its latest attempt (which
-- may have failed, leaving the figures of the earlier certification in place). One shop, or all.
-- Grain: one row per shop.
with published_shops as (
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

published_days as (
    select
        shop_id,
        min(day) as first_day,
        max(day) as last_day
    from viz.shop_daily_revenue
    group by shop_id
),

latest_attempts as (
    select distinct on (scope)
        scope as shop_id,
        certification_id,
        status,
        started_at,
        failure_summary
    from viz.certification_history
    where
        dag_id = 'shop_daily_revenue'
        and scope <> ''
    order by scope asc, certification_id desc
),

shops as (
    select
        coalesce(published_shops.shop_id, latest_attempts.shop_id) as shop_id,
        published_shops.shop_name,
        published_shops.iana_timezone,
        published_shops.currency,
        published_shops.refund_attribution,
        published_days.first_day,
        published_days.last_day,
        published_shops.certification_id,
        published_shops.certified_at,
        latest_attempts.certification_id as latest_certification_id,
        latest_attempts.status as latest_status,
        latest_attempts.started_at as latest_started_at,
        latest_attempts.failure_summary as latest_failure_summary
    from published_shops
    full join latest_attempts
        on published_shops.shop_id = latest_attempts.shop_id
    left join published_days
        on published_shops.shop_id = published_days.shop_id
),

final as (
    select *
    from shops
    where %(shop_id)s::text is null or shop_id = %(shop_id)s
    order by shop_id
)

select * from final
