-- The production figures the shadow mrr_bridge_without_renewal_grace is compared with: the bridge in total.
-- Grain: one row per month.
select
    month,
    starting_mrr,
    new,
    expansion,
    contraction,
    churn,
    winback,
    ending_mrr
from mart.mart_mrr_bridge_total
