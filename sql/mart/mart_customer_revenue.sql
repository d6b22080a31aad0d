-- mart_customer_revenue: recognised revenue per customer and month
-- (METHODOLOGY.md A6): round_half_even(sum of line MRR x active days of the
-- line in the month / days in the month, 2), one rounding per customer-month,
-- counting real service days only (no renewal grace) up to the snapshot day.
-- Grain: one row per customer and month (the snapshot grid).
with customer_months as (
    select
        customer_id,
        month,
        snapshot_date,
        business_unit,
        extract(day from (month + interval '1 month - 1 day'))::integer as days_in_month
    from mart.mart_customer_snapshot
),

intervals as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        service_end_date
    from mart.mart_service_interval
),

line_days as (
    select
        customer_months.customer_id,
        customer_months.month,
        intervals.line_mrr,
        least(intervals.service_end_date, customer_months.snapshot_date)
        - greatest(intervals.service_start_date, customer_months.month) + 1 as active_days
    from customer_months
    inner join intervals
        on customer_months.customer_id = intervals.customer_id
            and customer_months.snapshot_date >= intervals.service_start_date
            and customer_months.month <= intervals.service_end_date
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
