-- Record the repair run requested for each discrepancy of a reconciliation: one run of the shop
-- revenue DAG per shop, over the range from its first to its last discrepant day.
-- Grain: one row per shop with discrepancies (the repair asked of it).
with discrepant as (
    select
        shop_id,
        min(day) as from_day,
        max(day) as to_day
    from monitoring.reconciliation_result
    where
        reconciliation_run_id = %(reconciliation_run_id)s
        and status = 'discrepancy'
    group by shop_id
),

requested as (
    update monitoring.reconciliation_result as result
    set
        repair_run_id = %(repair_prefix)s || discrepant.shop_id,
        repair_requested_at = now()
    from discrepant
    where
        result.reconciliation_run_id = %(reconciliation_run_id)s
        and result.shop_id = discrepant.shop_id
        and result.status = 'discrepancy'
    returning result.shop_id, result.repair_run_id
)

select distinct
    discrepant.shop_id,
    discrepant.from_day,
    discrepant.to_day,
    requested.repair_run_id
from discrepant
inner join requested
    on discrepant.shop_id = requested.shop_id
order by discrepant.shop_id
