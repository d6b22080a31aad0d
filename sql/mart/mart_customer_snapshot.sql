-- mart_customer_snapshot: snapshot MRR E(c, m) = D(c, snapshot day) and
-- starting MRR S(c, m) = E(c, previous month) (METHODOLOGY.md A4). The
-- snapshot day is the month's last day, or the as-of date in its month.
-- Every month from the customer's cohort through the as-of month has a row,
-- zeros included, so churned customers stay visible.
-- Grain: one row per customer and month.
with cohorts as (
    select
        customer_id,
        cohort_month
    from mart.mart_customer_cohort
    where first_service_date <= %(as_of_date)s
),

customers as (
    select
        customer_id,
        business_unit
    from mart.mart_customer
),

segments as (
    select
        customer_id,
        segment_start_date,
        coalesce(segment_end_date, 'infinity'::date) as segment_end_date,
        daily_mrr
    from mart.mart_customer_mrr_segment
),

customer_months as (
    select
        cohorts.customer_id,
        month::date as month
    from cohorts
    cross join generate_series(
        cohorts.cohort_month,
        date_trunc('month', %(as_of_date)s::date),
        interval '1 month'
    ) as month
),

snapshot_days as (
    select
        customer_id,
        month,
        least((month + interval '1 month - 1 day')::date, %(as_of_date)s::date) as snapshot_date
    from customer_months
),

ending as (
    select
        snapshot_days.customer_id,
        snapshot_days.month,
        snapshot_days.snapshot_date,
        coalesce(segments.daily_mrr, 0) as ending_mrr
    from snapshot_days
    left join segments
        on snapshot_days.customer_id = segments.customer_id
            and snapshot_days.snapshot_date between segments.segment_start_date and segments.segment_end_date
),

final as (
    select
        ending.customer_id,
        ending.month,
        ending.snapshot_date,
        customers.business_unit,
        coalesce(lag(ending.ending_mrr) over (partition by ending.customer_id order by ending.month), 0)
            as starting_mrr,
        ending.ending_mrr
    from ending
    inner join customers
        on ending.customer_id = customers.customer_id
)

select * from final
