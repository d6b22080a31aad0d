-- mart_mrr_bridge_total: the MRR bridge per month over all business units,
-- published beside the per-unit rows so that no reader adds them up itself.
-- Each figure is the exact sum of the units' figures.
-- Grain: one row per month, from the first month with service through the as-of month.
with bridge as (
    select
        month,
        currency,
        snapshot_date,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        net_new_mrr,
        ending_mrr,
        recognized_revenue,
        active_customers
    from mart.mart_mrr_bridge
),

final as (
    select
        month,
        min(currency) as currency,
        max(snapshot_date) as snapshot_date,
        sum(starting_mrr) as starting_mrr,
        sum(new) as new,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(winback) as winback,
        sum(net_new_mrr) as net_new_mrr,
        sum(ending_mrr) as ending_mrr,
        sum(recognized_revenue) as recognized_revenue,
        sum(active_customers) as active_customers
    from bridge
    group by month
)

select * from final
