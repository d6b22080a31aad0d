-- mart_mrr_bridge: the MRR bridge per month and business unit, as it would be
-- published: starting MRR, each movement, net new MRR (their sum), ending MRR,
-- recognised revenue and active customers (ending MRR > 0), in the reporting
-- currency. Every total is an exact sum of rounded customer-month figures: the
-- customer detail's, whose left-out months have nothing to add.
-- Grain: one row per month and business unit, from the unit's first month with
-- service through the as-of month, zeros included after its last churn.
with unit_months as (
    select
        month,
        business_unit,
        max(snapshot_date) as snapshot_date
    from mart.mart_customer_snapshot
    group by month, business_unit
),

customer_months as (
    select
        month,
        business_unit,
        starting_mrr,
        movement_type,
        movement_amount,
        ending_mrr,
        recognized_revenue
    from mart.mart_customer_month
),

unit_sums as (
    select
        month,
        business_unit,
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
),

reporting_currency as (
    select iso_code
    from mart.mart_reporting_currency
),

final as (
    select
        unit_months.month,
        unit_months.business_unit,
        reporting_currency.iso_code as currency,
        unit_months.snapshot_date,
        coalesce(unit_sums.starting_mrr, 0) as starting_mrr,
        coalesce(unit_sums.new, 0) as new,
        coalesce(unit_sums.expansion, 0) as expansion,
        coalesce(unit_sums.contraction, 0) as contraction,
        coalesce(unit_sums.churn, 0) as churn,
        coalesce(unit_sums.winback, 0) as winback,
        coalesce(unit_sums.net_new_mrr, 0) as net_new_mrr,
        coalesce(unit_sums.ending_mrr, 0) as ending_mrr,
        coalesce(unit_sums.recognized_revenue, 0) as recognized_revenue,
        coalesce(unit_sums.active_customers, 0) as active_customers
    from unit_months
    left join unit_sums
        on
            unit_months.month = unit_sums.month
            and unit_months.business_unit = unit_sums.business_unit
    cross join reporting_currency
)

select * from final
