-- The published bridge over all business units for a month range.
-- Grain: one row per month.
with totals as (
    select *
    from viz.mrr_bridge_total
),

final as (
    select *
    from totals
    where
        (%(from_month)s::date is null or month >= %(from_month)s::date)
        and (%(to_month)s::date is null or month <= %(to_month)s::date)
    order by month
)

select * from final
