-- The last few published months of the MRR bridge (the months parameter), per business unit.
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
        certification_id
    from viz.mrr_bridge
),

latest_month as (
    select
        max(month) as month
    from bridge
),

final as (
    select
        bridge.*
    from bridge
    cross join latest_month
    where bridge.month > latest_month.month - make_interval(months => %(months)s)
    order by bridge.business_unit, bridge.month
)

select * from final
