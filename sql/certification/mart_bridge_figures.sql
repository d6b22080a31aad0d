-- The mart's bridge as certification compares it with the independent derivation.
-- Grain: one row per month and business unit.
with bridge as (
    select
        month,
        business_unit,
        snapshot_date,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        ending_mrr,
        recognized_revenue,
        active_customers
    from mart.mart_mrr_bridge
),

final as (
    select * from bridge
    order by month, business_unit
)

select * from final
