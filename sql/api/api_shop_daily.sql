-- One shop's published daily revenue for a range of local days.
-- Grain: one row per local day.
with days as (
    select *
    from viz.shop_daily_revenue
),

final as (
    select *
    from days
    where
        shop_id = %(shop_id)s
        and (%(from_day)s::date is null or day >= %(from_day)s::date)
        and (%(to_day)s::date is null or day <= %(to_day)s::date)
    order by day
)

select * from final
