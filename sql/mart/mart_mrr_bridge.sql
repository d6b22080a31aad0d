-- mart_mrr_bridge: the MRR bridge per month and business unit, as it would be
-- published: starting MRR, each movement, ending MRR, recognised revenue and
-- active customers (ending MRR > 0). Every total is an exact sum of rounded
-- customer-month figures.
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

customer_months as (
    select
        snapshots.*,
        movements.movement_type,
        movements.movement_amount,
        revenue.recognized_revenue
    from snapshots
    inner join movements
        on movements.customer_id = snapshots.customer_id
        and movements.month = snapshots.month
    inner join revenue
        on revenue.customer_id = snapshots.customer_id
        and revenue.month = snapshots.month
),

final as (
    select
        month,
        business_unit,
        max(snapshot_date) as snapshot_date,
        sum(starting_mrr) as starting_mrr,
        coalesce(sum(movement_amount) filter (where movement_type = 'new'), 0) as new,
        coalesce(sum(movement_amount) filter (where movement_type = 'expansion'), 0) as expansion,
        coalesce(sum(movement_amount) filter (where movement_type = 'contraction'), 0) as contraction,
        coalesce(sum(movement_amount) filter (where movement_type = 'churn'), 0) as churn,
        coalesce(sum(movement_amount) filter (where movement_type = 'winback'), 0) as winback,
        sum(ending_mrr) as ending_mrr,
        sum(recognized_revenue) as recognized_revenue,
        count(*) filter (where ending_mrr > 0) as active_customers
    from customer_months
    group by month, business_unit
)

select * from final
