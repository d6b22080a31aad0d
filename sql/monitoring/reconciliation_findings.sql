-- Shop-days a reconciliation found apart from the source and no later one found equal again
-- (METHODOLOGY.md B5), as the incident ledger takes them in (issue 14): per shop and per reconciliation
-- run that found them, how many days and which.
-- Grain: one row per shop and reconciliation run with open discrepancies.
with open_discrepancies as (
    select
        result.shop_id,
        result.day,
        run.dag_id,
        run.run_id,
        run.started_at
    from monitoring.reconciliation_result as result
    inner join monitoring.reconciliation_run as run
        on result.reconciliation_run_id = run.reconciliation_run_id
    where
        result.status = 'discrepancy'
        and result.closed_by_reconciliation_run_id is null
),

final as (
    select
        shop_id,
        dag_id,
        run_id,
        started_at as found_at,
        count(*) as days,
        min(day) as first_day,
        max(day) as last_day
    from open_discrepancies
    group by shop_id, dag_id, run_id, started_at
    order by shop_id, started_at
)

select * from final
