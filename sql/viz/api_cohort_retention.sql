-- Certified cohort retention for a range of cohorts, one business unit or all.
-- Grain: one row per cohort month, business unit and month.
with cohorts as (
    select
        cohort_month,
        business_unit,
        month,
        months_since_cohort,
        cohort_customers,
        active_customers,
        cohort_starting_mrr,
        ending_mrr,
        certification_id
    from viz.cohort_retention
),

final as (
    select
        *
    from cohorts
    where (%(from_month)s::date is null or cohort_month >= %(from_month)s::date)
        and (%(to_month)s::date is null or cohort_month <= %(to_month)s::date)
        and (%(business_unit)s::text is null or business_unit = %(business_unit)s::text)
    order by cohort_month, business_unit, month
)

select * from final
