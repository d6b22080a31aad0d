-- mrr: port of models/mrr.sql of dbt-labs/mrr-playbook at
-- f7921cf7f67e57e8eb1ce86dc16fa3a9e03cee94 to PostgreSQL: the change of each
-- customer-month on the one before, classified new, churn, reactivation,
-- upgrade or downgrade (null: no change). dbt_utils.surrogate_key is spelled
-- out as dbt_utils 0.8.0 compiles it (md5 of the columns as text joined by
-- '-'), and mrr_change gets a step of its own (no lateral column aliases).
-- Grain: one row per customer and month, churn months included.
with customer_months as (
    select * from mrr_playbook.customer_revenue_by_month
),

churn_months as (
    select * from mrr_playbook.customer_churn_month
),

unioned as (
    select * from customer_months
    union all
    select * from churn_months
),

-- get prior month MRR
previous_months as (
    select
        *,
        coalesce(lag(is_active) over customer_history, false) as previous_month_is_active,
        coalesce(lag(mrr) over customer_history, 0) as previous_month_mrr
    from unioned
    window customer_history as (partition by customer_id order by date_month)
),

mrr_with_changes as (
    select
        *,
        mrr - previous_month_mrr as mrr_change
    from previous_months
),

-- classify months as new, churn, reactivation, upgrade, downgrade (or null)
final as (
    select
        md5(concat(coalesce(date_month::text, ''), '-', coalesce(customer_id::text, ''))) as id,
        *,
        case
            when is_first_month
                then 'new'
            when not is_active and previous_month_is_active
                then 'churn'
            when is_active and not previous_month_is_active
                then 'reactivation'
            when mrr_change > 0 then 'upgrade'
            when mrr_change < 0 then 'downgrade'
        end as change_category,
        least(mrr, previous_month_mrr) as renewal_amount
    from mrr_with_changes
)

select * from final
