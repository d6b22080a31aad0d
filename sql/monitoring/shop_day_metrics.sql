-- A shop's days this run recomputed, measured after transform (issue 14): for every complete local day
-- in scope (a day still in progress in the shop's zone is left out: its orders are still coming), the
-- orders that count, and its net revenue relative to the median net revenue of the same weekday
-- published in the 8 weeks before it. The median is one of the published amounts (percentile_disc picks
-- one, it adds nothing) and the ratio is computed here from the exact amounts, rounded to 6 places: a
-- statistic, never money. A day without published same weekdays, or whose median is zero, has no
-- revenue ratio.
-- Grain: one row per metric and local day of the shop (the subject is the shop).
with shop as (
    select
        shops.shop_id,
        shops.iana_timezone
    from mart.mart_shop as shops
    -- Only a mart this run built: a shop refused or held before it was built has nothing to measure.
    inner join mart.mart_shop_build as build
        on shops.shop_id = build.shop_id
    where
        shops.shop_id = %(shop_id)s
        and shops.is_timezone_known
        and build.certification_id = %(certification_id)s
),

days as (
    select
        shop_day.shop_id,
        shop_day.day,
        shop_day.order_count,
        shop_day.net_revenue
    from mart.mart_shop_day as shop_day
    inner join mart.mart_shop_day_scope as scope
        on
            shop_day.shop_id = scope.shop_id
            and shop_day.day = scope.day
    inner join shop
        on shop_day.shop_id = shop.shop_id
    where
        shop_day.shop_id = %(shop_id)s
        and shop_day.day < (now() at time zone shop.iana_timezone)::date
),

weekday_medians as (
    select
        days.day,
        percentile_disc(0.5) within group (order by published.net_revenue) as median_net_revenue,
        count(*) as published_days
    from days
    inner join viz.shop_daily_revenue as published
        on
            days.shop_id = published.shop_id
            and published.day between days.day - 56 and days.day - 7
            and extract(isodow from published.day) = extract(isodow from days.day)
    group by days.day
),

orders as (
    select
        'shop_day_orders' as metric,
        shop_id as subject,
        day as observed_day,
        order_count::numeric as value,
        jsonb_build_object('net_revenue', net_revenue::text) as detail
    from days
),

net_revenue as (
    select
        'shop_day_net_revenue_change' as metric,
        days.shop_id as subject,
        days.day as observed_day,
        round(days.net_revenue / nullif(weekday_medians.median_net_revenue, 0) - 1, 6) as value,
        jsonb_build_object(
            'net_revenue', days.net_revenue::text,
            'weekday_median_net_revenue', weekday_medians.median_net_revenue::text,
            'published_days', weekday_medians.published_days
        ) as detail
    from days
    inner join weekday_medians
        on days.day = weekday_medians.day
),

measured as (
    select * from orders
    union all
    select * from net_revenue
),

final as (
    select * from measured
    where value is not null
)

select * from final
