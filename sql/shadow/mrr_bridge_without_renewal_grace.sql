-- Shadow: the MRR bridge in total with no renewal grace (0 days instead of
-- the configured grace), from the same mart. A renewal that starts after a gap
-- becomes a churn and a winback instead of carrying MRR through the gap; the
-- difference from production is how much of churn and winback is renewal
-- timing. Each customer's MRR on a day is the sum of its lines in service that
-- day (service end, not the MRR end the grace extends), read as a running sum
-- of the lines' starts and ends on the customer's snapshot days.
-- Grain: one row per month.
with lines as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        service_end_date
    from mart.mart_service_interval
),

customer_months as (
    select
        customer_id,
        month,
        snapshot_date
    from mart.mart_customer_snapshot
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

movements as (
    select
        snapshots.customer_id,
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

final as (
    select
        month,
        sum(starting_mrr) as starting_mrr,
        coalesce(sum(ending_mrr) filter (where starting_mrr = 0 and ending_mrr > 0 and is_first_month), 0) as new,
        coalesce(sum(ending_mrr - starting_mrr) filter (
            where starting_mrr > 0 and ending_mrr > starting_mrr
        ), 0) as expansion,
        coalesce(sum(ending_mrr - starting_mrr) filter (
            where starting_mrr > 0 and ending_mrr > 0 and ending_mrr < starting_mrr
        ), 0) as contraction,
        coalesce(sum(-starting_mrr) filter (where starting_mrr > 0 and ending_mrr = 0), 0) as churn,
        coalesce(sum(ending_mrr) filter (where starting_mrr = 0 and ending_mrr > 0 and not is_first_month), 0)
            as winback,
        sum(ending_mrr) as ending_mrr
    from movements
    group by month
)

select * from final
