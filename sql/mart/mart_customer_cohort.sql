-- mart_customer_cohort: a customer's cohort is the month of its first day with
-- D(c, d) > 0 (METHODOLOGY.md A7).
-- Grain: one row per customer that ever had MRR.
with scope as (
    select customer_id
    from mart.mart_customer_scope
),

segments as (
    select
        customer_id,
        segment_start_date,
        daily_mrr
    from mart.mart_customer_mrr_segment
    where %(whole)s or customer_id in (select scope.customer_id from scope)
),

first_service as (
    select
        customer_id,
        min(segment_start_date) as first_service_date
    from segments
    where daily_mrr > 0
    group by customer_id
),

final as (
    select
        customer_id,
        first_service_date,
        date_trunc('month', first_service_date)::date as cohort_month
    from first_service
)

select * from final
