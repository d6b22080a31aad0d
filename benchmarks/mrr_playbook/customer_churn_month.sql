-- customer_churn_month: port of models/customer_churn_month.sql of
-- dbt-labs/mrr-playbook at f7921cf7f67e57e8eb1ce86dc16fa3a9e03cee94 to
-- PostgreSQL (dateadd becomes an interval; the zero is numeric, not the
-- original's float: money is never a float here, not even in a yardstick).
-- One change, forced: the churn row is added only when the customer's spine
-- ends with its last active month. In the playbook's data it always does; a
-- CPQ customer whose next contract is booked after a gap, beyond the spine's
-- end (the as-of month), already has that month in its spine, at zero, and a
-- second row for it would break the playbook's own test (one row per
-- customer and month in mrr).
-- Grain: one row per customer whose spine ends in an active month.
with customer_months as (
    select * from mrr_playbook.customer_revenue_by_month
),

spine_ends as (
    select
        customer_id,
        max(date_month) as last_month
    from customer_months
    group by customer_id
),

-- row for month *after* last month of activity
joined as (
    select
        (customer_months.date_month + interval '1 month')::date as date_month,
        customer_months.customer_id,
        0::numeric as mrr,
        false as is_active,
        customer_months.first_active_month,
        customer_months.last_active_month,
        false as is_first_month,
        false as is_last_month
    from customer_months
    inner join spine_ends
        on customer_months.customer_id = spine_ends.customer_id
            and customer_months.date_month = spine_ends.last_month
    where customer_months.is_last_month
)

select * from joined
