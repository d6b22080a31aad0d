-- Customers whose daily MRR is negative on some day: the first such day, with
-- every line active on it.
with first_negative_day as (
    select distinct on (customer_id)
        customer_id,
        segment_start_date,
        daily_mrr
    from mart.mart_customer_mrr_segment
    where daily_mrr < 0
    order by customer_id, segment_start_date
),

active_lines as (
    select
        first_negative_day.customer_id,
        string_agg(
            format('%s (%s)', intervals.subscription_line_id, intervals.line_mrr),
            ', ' order by intervals.subscription_line_id
        ) as lines
    from first_negative_day
    inner join mart.mart_service_interval as intervals
        on first_negative_day.customer_id = intervals.customer_id
            and first_negative_day.segment_start_date between intervals.service_start_date and intervals.mrr_end_date
    group by first_negative_day.customer_id
)

select
    first_negative_day.customer_id as record_id,
    format(
        'MRR %s on %s; lines active that day: %s', first_negative_day.daily_mrr,
        first_negative_day.segment_start_date, active_lines.lines
    ) as detail
from first_negative_day
inner join active_lines
    on first_negative_day.customer_id = active_lines.customer_id
order by first_negative_day.customer_id
