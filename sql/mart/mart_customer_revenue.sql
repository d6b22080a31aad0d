-- mart_customer_revenue: recognised revenue per customer and month
-- (METHODOLOGY.md A6): round_half_even(sum of line MRR x active days of the
-- line in the month / days in the month, 2), one rounding per customer-month,
-- counting real service days only (no renewal grace) up to the snapshot day.
-- When only the as-of date moved on, every customer's as-of month
-- is rebuilt, from the lines that serve in it.
-- Grain: one row per customer and month (the snapshot grid).
with scope as (
    select customer_id
    from mart.mart_customer_scope
),

customer_months as (
    select
        customer_id,
        month,
        snapshot_date,
        business_unit,
        extract(day from (month + interval '1 month - 1 day'))::integer as days_in_month
    from mart.mart_customer_snapshot
    where %(whole)s or customer_id in (select scope.customer_id from scope) or month = %(rebuilt_month)s
),

intervals as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        service_end_date,
        %(whole)s or customer_id in (select scope.customer_id from scope) as is_every_month
    from mart.mart_service_interval
    where service_start_date <= %(as_of_date)s
        and (
            %(whole)s
            or customer_id in (select scope.customer_id from scope)
            or service_end_date >= %(rebuilt_month)s::date
        )
),

-- Each line is spread over the months it serves up to the as-of date, rather
-- than joined to every month of its customer: a join on the customer alone
-- pairs each line with all of its customer's months and discards most pairs.
-- Where only the as-of month is rebuilt, a line is spread from that month on.
line_months as (
    select
        intervals.customer_id,
        intervals.line_mrr,
        intervals.service_start_date,
        intervals.service_end_date,
        line_month.month::date as month
    from intervals
    cross join generate_series(
        greatest(
            date_trunc('month', intervals.service_start_date),
            case when not intervals.is_every_month then %(rebuilt_month)s::date end
        ),
        date_trunc('month', least(intervals.service_end_date, %(as_of_date)s::date)),
        interval '1 month'
    ) as line_month (month)
),

line_days as (
    select
        customer_id,
        month,
        line_mrr,
        least(service_end_date, (month + interval '1 month - 1 day')::date, %(as_of_date)s::date)
        - greatest(service_start_date, month) + 1 as active_days
    from line_months
),

earned as (
    select
        customer_id,
        month,
        sum(line_mrr * active_days) as mrr_days
    from line_days
    group by customer_id, month
),

final as (
    select
        customer_months.customer_id,
        customer_months.month,
        customer_months.business_unit,
        mart.round_half_even(
            coalesce(earned.mrr_days, 0)::numeric(1000, 40) / customer_months.days_in_month,
            2
        ) as recognized_revenue
    from customer_months
    left join earned
        on customer_months.customer_id = earned.customer_id
            and customer_months.month = earned.month
)

select * from final
