-- util_months: port of models/utils/util_months.sql of dbt-labs/mrr-playbook
-- at f7921cf7f67e57e8eb1ce86dc16fa3a9e03cee94, a dbt_utils.date_spine of
-- months. date_spine leaves out its end (date_trunc('month', current_date)):
-- the playbook shows complete months only. Here the end is the bench's as-of
-- month, and the start is the first month of any subscription period instead
-- of the playbook's fixed 2018-01-01, so no period starts before the spine.
-- Grain: one row per month.
with subscription_periods as (
    select start_date
    from mrr_playbook.subscription_periods
),

bounds as (
    select min(start_date) as first_month
    from subscription_periods
),

final as (
    select date_month::date as date_month
    from bounds
    cross join generate_series(
        first_month,
        date_trunc('month', %(as_of_date)s::date) - interval '1 month',
        interval '1 month'
    ) as date_month
)

select * from final
