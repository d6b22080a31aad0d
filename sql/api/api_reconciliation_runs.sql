-- The latest reconciliations of published shop revenue against the source, newest first, with each
-- one's discrepancy rate (the share of compared shop-days over B5's threshold). Audits included.
-- Grain: one row per reconciliation.
select
    reconciliation_run_id,
    dag_id,
    run_id,
    as_of_date,
    days,
    fraction,
    all_shops,
    seed,
    shops_active,
    shops_sampled,
    status,
    shop_days_compared,
    discrepancies,
    shops_failed,
    discrepancy_rate,
    started_at,
    finished_at
from viz.reconciliation_run
order by reconciliation_run_id desc
limit %(limit)s
