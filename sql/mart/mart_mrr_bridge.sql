-- mart_mrr_bridge: the MRR bridge per month and business unit, as it would be
-- published: starting MRR, each movement, net new MRR (their sum), ending MRR,
-- recognised revenue and active customers (ending MRR > 0), in the reporting
-- currency. Every total is an exact sum of rounded customer-month figures.
-- Grain: one row per month and business unit, from the unit's first month with
-- service through the as-of month.
with snapshots as (
    select
        customer_id,
        month,
        snapshot_date,
        business_unit,
        starting_mrr,
        ending_mrr
    from mart.mart_customer_snapshot
),

movements as (
    select
        customer_id,
        month,
        movement_type,
        movement_amount
    from mart.mart_customer_movement
),

revenue as (
    select
        customer_id,
        month,
        recognized_revenue
    from mart.mart_customer_revenue
),

reporting_currency as (
    select iso_code
    from mart.mart_reporting_currency
),

customer_months as (
    select
        snapshots.*,
        movements.movement_type,
        movements.movement_amount,
        revenue.recognized_revenue,
        reporting_currency.iso_code as currency
    from snapshots
    inner join movements
        on
            snapshots.customer_id = movements.customer_id
            and snapshots.month = movements.month
    inner join revenue
        on
            snapshots.customer_id = revenue.customer_id
            and snapshots.month = revenue.month
    cross join reporting_currency
),

final as (
    select
        month,
        business_unit,
        min(currency) as currency,
        max(snapshot_date) as snapshot_date,
        sum(starting_mrr) as starting_mrr,
        coalesce(sum(movement_amount) filter (where movement_type = 'new'), 0) as new,
        coalesce(sum(movement_amount) filter (where movement_type = 'expansion'), 0) as expansion,
        coalesce(sum(movement_amount) filter (where movement_type = 'contraction'), 0) as contraction,
        coalesce(sum(movement_amount) filter (where movement_type = 'churn'), 0) as churn,
        coalesce(sum(movement_amount) filter (where movement_type = 'winback'), 0) as winback,
        sum(movement_amount) as net_new_mrr,
        sum(ending_mrr) as ending_mrr,
        sum(recognized_revenue) as recognized_revenue,
        count(*) filter (where ending_mrr > 0) as active_customers
    from customer_months
    group by month, business_unit
)

select * from final
