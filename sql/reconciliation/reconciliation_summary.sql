-- A reconciliation's outcome: shop-days compared, discrepancies, shops that failed, and the
-- discrepancy rate (the share of compared shop-days over the threshold: a ratio of counts).
-- Grain: one row (the reconciliation).
with results as (
    select
        count(*) as shop_days_compared,
        count(*) filter (where status = 'discrepancy') as discrepancies
    from monitoring.reconciliation_result
    where reconciliation_run_id = %(reconciliation_run_id)s
),

shops as (
    select count(*) filter (where status = 'failed') as shops_failed
    from monitoring.reconciliation_shop
    where reconciliation_run_id = %(reconciliation_run_id)s
),

final as (
    select
        results.shop_days_compared,
        results.discrepancies,
        shops.shops_failed,
        case
            when results.shop_days_compared > 0
                then round(results.discrepancies::numeric / results.shop_days_compared, 6)
        end as discrepancy_rate
    from results
    cross join shops
)

select * from final
