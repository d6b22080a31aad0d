-- The published bridge for a month range, one business unit or all of them.
-- Grain: one row per month and business unit.
with bridge as (
    select
        month,
        business_unit,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        ending_mrr,
        recognized_revenue,
        active_customers,
        snapshot_date,
        certification_id,
        certified_at
    from viz.mrr_bridge
),

final as (
    select
        *
    from bridge
    where (%(from_month)s::date is null or month >= %(from_month)s::date)
        and (%(to_month)s::date is null or month <= %(to_month)s::date)
        and (%(business_unit)s::text is null or business_unit = %(business_unit)s::text)
    order by month, business_unit
)

select * from final
