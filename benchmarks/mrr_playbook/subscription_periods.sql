-- subscription_periods: the playbook's seed (data/subscription_periods.csv of
-- dbt-labs/mrr-playbook at f7921cf7f67e57e8eb1ce86dc16fa3a9e03cee94), fed from
-- the mart's own service intervals: one period per recurring line, in the
-- reporting currency, renewal grace included (mrr_end_date).
-- The playbook's periods start and end on the first day of a month (its
-- schema.yml tests say so) and a period is active in month m when
-- start_date <= m < end_date. Starting in the month of service start and
-- ending in the month after mrr_end_date + 1 day makes that "active on the
-- month's last day": the mart's snapshot day of every complete month, so the
-- two readings can be set side by side month by month.
-- Grain: one row per recurring line with a customer.
with service_intervals as (
    select
        subscription_line_id,
        customer_id,
        line_mrr,
        service_start_date,
        mrr_end_date
    from mart.mart_service_interval
),

final as (
    select
        subscription_line_id as subscription_id,
        customer_id,
        date_trunc('month', service_start_date)::date as start_date,
        date_trunc('month', mrr_end_date + 1)::date as end_date,
        line_mrr as monthly_amount
    from service_intervals
)

select * from final
