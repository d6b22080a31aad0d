-- Shadow: the MRR bridge in total with no renewal grace (0 days instead of
-- the configured grace), from the same mart. A renewal that starts after a gap
-- becomes a churn and a winback instead of carrying MRR through the gap; the
-- difference from production is how much of churn and winback is renewal
-- timing. A customer none of whose lines is carried by grace has the same
-- months without it: its production detail (mart_customer_month) is its
-- shadow. For the others, each customer's MRR on a day is the sum of its
-- lines in service that day (service end, not the MRR end the grace extends),
-- read as a running sum of the lines' starts and ends on the customer's
-- snapshot days, and classified as A5 does.
-- Grain: one row per month.
with graced_customers as (
    select distinct customer_id
    from mart.mart_service_interval
    where mrr_end_date > service_end_date
),

ungraced_months as (
    select
        month,
        starting_mrr,
        ending_mrr,
        movement_type,
        movement_amount
    from mart.mart_customer_month
    where
        not exists (
            select from graced_customers
            where graced_customers.customer_id = mart_customer_month.customer_id
        )
),

lines as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        service_end_date
    from mart.mart_service_interval
    where customer_id in (select graced_customers.customer_id from graced_customers)
),

customer_months as (
    select
        customer_id,
        month,
        snapshot_date
    from mart.mart_customer_snapshot
    where customer_id in (select graced_customers.customer_id from graced_customers)
),

cohorts as (
    select
        customer_id,
        first_service_date
    from mart.mart_customer_cohort
),

changes as (
    select
        customer_id,
        service_start_date as day,
        line_mrr as change,
        null::date as month
    from lines
    union all
    select
        customer_id,
        service_end_date + 1 as day,
        -line_mrr as change,
        null::date as month
    from lines
    union all
    select
        customer_id,
        snapshot_date as day,
        0 as change,
        month
    from customer_months
),

snapshots as (
    select
        customer_id,
        month,
        -- a day's changes come before the snapshot taken on it
        sum(change) over (partition by customer_id order by day, month is not null) as ending_mrr
    from changes
),

graced_previous as (
    select
        snapshots.month,
        snapshots.ending_mrr,
        coalesce(lag(snapshots.ending_mrr) over (
            partition by snapshots.customer_id order by snapshots.month
        ), 0) as starting_mrr,
        cohorts.first_service_date >= snapshots.month as is_first_month
    from snapshots
    inner join cohorts
        on snapshots.customer_id = cohorts.customer_id
    where snapshots.month is not null
),

graced_months as (
    select
        month,
        starting_mrr,
        ending_mrr,
        case
            when starting_mrr = 0 and ending_mrr > 0 and is_first_month then 'new'
            when starting_mrr = 0 and ending_mrr > 0 then 'winback'
            when starting_mrr > 0 and ending_mrr = 0 then 'churn'
            when starting_mrr > 0 and ending_mrr > starting_mrr then 'expansion'
            when starting_mrr > 0 and ending_mrr > 0 and ending_mrr < starting_mrr then 'contraction'
            else 'none'
        end as movement_type,
        ending_mrr - starting_mrr as movement_amount
    from graced_previous
),

shadow_months as (
    select
        month,
        starting_mrr,
        ending_mrr,
        movement_type,
        movement_amount
    from ungraced_months
    union all
    select
        month,
        starting_mrr,
        ending_mrr,
        movement_type,
        movement_amount
    from graced_months
),

final as (
    select
        month,
        sum(starting_mrr) as starting_mrr,
        coalesce(sum(movement_amount) filter (where movement_type = 'new'), 0) as new,
        coalesce(sum(movement_amount) filter (where movement_type = 'expansion'), 0) as expansion,
        coalesce(sum(movement_amount) filter (where movement_type = 'contraction'), 0) as contraction,
        coalesce(sum(movement_amount) filter (where movement_type = 'churn'), 0) as churn,
        coalesce(sum(movement_amount) filter (where movement_type = 'winback'), 0) as winback,
        sum(ending_mrr) as ending_mrr
    from shadow_months
    group by month
)

select * from final
