-- Each published customer-month against its lines (Part C 3): ending MRR is
-- the sum of the MRR of the lines carrying MRR on the snapshot day, and
-- starting MRR the same on the day before the month (METHODOLOGY.md A4).
-- Each line adds its MRR on its first day and takes it away the day after its
-- MRR ends; a running sum per customer, read on the days asked, sums the lines
-- without joining every month to every line.
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
),

lines as (
    select
        customer_id,
        line_mrr,
        service_start_date,
        mrr_end_date
    from mart.mart_customer_line
),

events as (
    select
        customer_id,
        service_start_date as day,
        line_mrr as change,
        null::date as month,
        null as figure
    from lines
    union all
    select
        customer_id,
        mrr_end_date + 1 as day,
        -line_mrr as change,
        null::date as month,
        null as figure
    from lines
    union all
    select
        customer_id,
        month - 1 as day,
        0 as change,
        month,
        'starting_mrr' as figure
    from customer_months
    union all
    select
        customer_id,
        snapshot_date as day,
        0 as change,
        month,
        'ending_mrr' as figure
    from customer_months
),

running as (
    select
        customer_id,
        month,
        figure,
        -- a day's changes come before the questions asked on it
        sum(change) over (partition by customer_id order by day, figure is not null) as lines_value
    from events
),

compared as (
    select
        customer_months.month,
        customer_months.business_unit,
        customer_months.customer_id,
        running.figure,
        case running.figure
            when 'starting_mrr' then customer_months.starting_mrr
            else customer_months.ending_mrr
        end as customer_value,
        running.lines_value
    from running
    inner join customer_months
        on
            running.customer_id = customer_months.customer_id
            and running.month = customer_months.month
),

final as (
    select
        month,
        business_unit,
        customer_id,
        figure,
        customer_value,
        lines_value
    from compared
    where customer_value <> lines_value
    order by month, business_unit, customer_id, figure
)

select * from final
