-- mart_customer_snapshot: snapshot MRR E(c, m) = D(c, snapshot day) and
-- starting MRR S(c, m) = E(c, previous month) (METHODOLOGY.md A4). The
-- snapshot day is the month's last day, or the as-of date in its month.
-- Every month from the customer's cohort through the as-of month has a row,
-- zeros included, so churned customers stay visible.
-- When only the as-of date moved on within its month, every
-- customer's as-of month is rebuilt from the segments that hold the snapshot
-- days of that month and the one before (its starting MRR).
-- Grain: one row per customer and month.
with scope as (
    select customer_id
    from mart.mart_customer_scope
),

cohorts as (
    select
        customer_id,
        cohort_month
    from mart.mart_customer_cohort
    where first_service_date <= %(as_of_date)s
        and (%(whole)s or %(rebuilt_month)s::date is not null or customer_id in (select scope.customer_id from scope))
),

customers as (
    select
        customer_id,
        business_unit
    from mart.mart_customer
    where %(whole)s or %(rebuilt_month)s::date is not null or customer_id in (select scope.customer_id from scope)
),

segments as (
    select
        customer_id,
        segment_start_date,
        segment_end_date,
        daily_mrr,
        %(whole)s or customer_id in (select scope.customer_id from scope) as is_every_month
    from mart.mart_customer_mrr_segment
    where segment_start_date <= %(as_of_date)s
        and (
            %(whole)s
            or customer_id in (select scope.customer_id from scope)
            or coalesce(segment_end_date, 'infinity') >= %(rebuilt_month)s::date - 1
        )
),

-- The segments tile each customer's days from its first change on, so each
-- month's snapshot day lies in exactly one of them: each segment is spread
-- over the months whose snapshot day it holds, from the cohort month on,
-- instead of joining every month to every segment of its customer.
segment_months as (
    select
        segments.customer_id,
        segments.daily_mrr,
        greatest(
            date_trunc('month', segments.segment_start_date)::date,
            cohorts.cohort_month,
            case when not segments.is_every_month then (%(rebuilt_month)s::date - interval '1 month')::date end
        ) as first_month,
        segments.is_every_month,
        case
            when segments.segment_end_date is null or segments.segment_end_date >= %(as_of_date)s
                then date_trunc('month', %(as_of_date)s::date)::date
            else (date_trunc('month', segments.segment_end_date + 1) - interval '1 month')::date
        end as last_month
    from segments
    inner join cohorts
        on segments.customer_id = cohorts.customer_id
),

ending as (
    select
        segment_months.customer_id,
        month.month::date as month,
        least((month.month + interval '1 month - 1 day')::date, %(as_of_date)s::date) as snapshot_date,
        segment_months.daily_mrr as ending_mrr,
        segment_months.is_every_month
    from segment_months
    cross join generate_series(segment_months.first_month, segment_months.last_month, interval '1 month')
        as month (month)
),

-- Starting MRR is the month before's ending MRR, so months are rebuilt with
-- the month before them and only then kept to the months being rebuilt.
snapshots as (
    select
        ending.customer_id,
        ending.month,
        ending.snapshot_date,
        customers.business_unit,
        coalesce(lag(ending.ending_mrr) over (partition by ending.customer_id order by ending.month), 0)
            as starting_mrr,
        ending.ending_mrr,
        ending.is_every_month
    from ending
    inner join customers
        on ending.customer_id = customers.customer_id
),

final as (
    select
        customer_id,
        month,
        snapshot_date,
        business_unit,
        starting_mrr,
        ending_mrr
    from snapshots
    where is_every_month or month = %(rebuilt_month)s
)

select * from final
