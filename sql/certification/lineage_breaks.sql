-- Each published customer-month against its lines (Part C 3): ending MRR is
-- the sum of the MRR of the lines carrying MRR on the snapshot day, and
-- starting MRR the same on the day before the month (METHODOLOGY.md A4).
-- Each line adds its MRR on its first day and takes it away the day after its
-- MRR ends; a running sum per customer, read on the days asked, sums the lines
-- without joining every month to every line.
-- Only the customers in %(customers)s, or every customer when it is null: a
-- customer whose detail is the one a passing check held to its lines holds
-- still (revcert.certification.detail_proofs).
-- Returns the customer-months that differ only.
-- Grain: one row per customer, month and figure that differs.
with customer_months as (
    select
        customer_id,
        month,
        business_unit,
        snapshot_date,
        starting_mrr,
        ending_mrr
    from mart.mart_customer_month
    where %(customers)s::text[] is null or customer_id = any(%(customers)s)
),

lines as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        mrr_end_date
    from mart.mart_customer_line
    where %(customers)s::text[] is null or customer_id = any(%(customers)s)
),

-- Each question carries the customer-month's own figure, so the answers are
-- compared where the running sum reads them, without joining back.
events as (
    select
        customer_id,
        service_start_date as day,
        line_mrr as change,
        null::date as month,
        null as business_unit,
        null as figure,
        null::numeric as customer_value
    from lines
    union all
    select
        customer_id,
        mrr_end_date + 1 as day,
        -line_mrr as change,
        null::date as month,
        null as business_unit,
        null as figure,
        null::numeric as customer_value
    from lines
    union all
    select
        customer_id,
        month - 1 as day,
        0 as change,
        month,
        business_unit,
        'starting_mrr' as figure,
        starting_mrr as customer_value
    from customer_months
    union all
    select
        customer_id,
        snapshot_date as day,
        0 as change,
        month,
        business_unit,
        'ending_mrr' as figure,
        ending_mrr as customer_value
    from customer_months
),

running as (
    select
        month,
        business_unit,
        customer_id,
        figure,
        customer_value,
        -- a day's changes come before the questions asked on it
        sum(change) over (partition by customer_id order by day, figure is not null) as lines_value
    from events
),

final as (
    select
        month,
        business_unit,
        customer_id,
        figure,
        customer_value,
        lines_value
    from running
    where figure is not null and customer_value <> lines_value
    order by month, business_unit, customer_id, figure
)

select * from final
