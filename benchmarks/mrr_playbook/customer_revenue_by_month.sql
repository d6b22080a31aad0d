-- customer_revenue_by_month: port of models/customer_revenue_by_month.sql of
-- dbt-labs/mrr-playbook at f7921cf7f67e57e8eb1ce86dc16fa3a9e03cee94 to
-- PostgreSQL. Two changes, each forced:
-- - The join to the periods is summed per customer and month. The playbook
--   assumes one active subscription per customer at a time (its
--   mutually_exclusive_ranges test); a CPQ customer has many lines at once.
-- - is_active and the first and last active months get steps of their own:
--   PostgreSQL has no lateral column aliases (the original is Snowflake SQL).
-- Grain: one row per customer and month, from the customer's first month to
-- its last.
with subscription_periods as (
    select * from mrr_playbook.subscription_periods
),

months as (
    select * from mrr_playbook.util_months
),

-- determine when a given account had its first and last (or most recent) month
customers as (
    select
        customer_id,
        date_trunc('month', min(start_date))::date as date_month_start,
        date_trunc('month', max(end_date))::date as date_month_end
    from subscription_periods
    group by customer_id
),

-- create one record per month between a customer's first and last month
customer_months as (
    select
        customers.customer_id,
        months.date_month
    from customers
    inner join months
        on customers.date_month_start <= months.date_month
            and customers.date_month_end > months.date_month
),

-- join the account-month spine to the periods; months without one are zeros (churns)
joined as (
    select
        customer_months.date_month,
        customer_months.customer_id,
        coalesce(sum(subscription_periods.monthly_amount), 0) as mrr
    from customer_months
    left join subscription_periods
        on customer_months.customer_id = subscription_periods.customer_id
            and customer_months.date_month >= subscription_periods.start_date
            and (
                customer_months.date_month < subscription_periods.end_date
                or subscription_periods.end_date is null
            )
    group by customer_months.date_month, customer_months.customer_id
),

activity as (
    select
        date_month,
        customer_id,
        mrr,
        mrr > 0 as is_active
    from joined
),

-- calculate first and last months
active_months as (
    select
        date_month,
        customer_id,
        mrr,
        is_active,
        min(case when is_active then date_month end) over (partition by customer_id) as first_active_month,
        max(case when is_active then date_month end) over (partition by customer_id) as last_active_month
    from activity
),

final as (
    select
        date_month,
        customer_id,
        mrr,
        is_active,
        first_active_month,
        last_active_month,
        first_active_month = date_month as is_first_month,
        last_active_month = date_month as is_last_month
    from active_months
)

select * from final
