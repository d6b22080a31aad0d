-- mart_customer_mrr_segment: customer daily MRR D(c, d) as a step function
-- (METHODOLOGY.md A4). Each line adds its MRR on its start and removes it the
-- day after its MRR end; the running sum holds from one change to the next.
-- The last segment of a customer is open-ended (segment_end_date null, MRR 0).
-- Grain: one row per customer and segment start.
with scope as (
    select customer_id
    from mart.mart_customer_scope
),

intervals as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        mrr_end_date
    from mart.mart_service_interval
    where %(whole)s or customer_id in (select scope.customer_id from scope)
),

changes as (
    select
        customer_id,
        service_start_date as change_date,
        line_mrr as mrr_change
    from intervals
    union all
    select
        customer_id,
        mrr_end_date + 1 as change_date,
        -line_mrr as mrr_change
    from intervals
),

daily_changes as (
    select
        customer_id,
        change_date,
        sum(mrr_change) as mrr_change
    from changes
    group by customer_id, change_date
),

final as (
    select
        customer_id,
        change_date as segment_start_date,
        lead(change_date) over (partition by customer_id order by change_date) - 1 as segment_end_date,
        sum(mrr_change) over (partition by customer_id order by change_date) as daily_mrr
    from daily_changes
)

select * from final
