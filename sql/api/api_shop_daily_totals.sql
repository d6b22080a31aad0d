-- Published daily revenue over every shop, per currency (amounts of different currencies never add up).
-- Grain: one row per currency and local day.
with days as (
    select
        currency,
        day,
        gross_revenue,
        refunds,
        net_revenue,
        order_count,
        refund_count
    from viz.shop_daily_revenue
    where
        (%(from_day)s::date is null or day >= %(from_day)s::date)
        and (%(to_day)s::date is null or day <= %(to_day)s::date)
),

final as (
    select
        currency,
        day,
        count(*) as shops,
        sum(gross_revenue) as gross_revenue,
        sum(refunds) as refunds,
        sum(net_revenue) as net_revenue,
        sum(order_count) as order_count,
        sum(refund_count) as refund_count
    from days
    group by currency, day
    order by currency, day
)

select * from final
