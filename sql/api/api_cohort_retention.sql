-- Certified cohort retention of one business unit for a range of cohorts.
-- Grain: one row per cohort month, business unit and month.
with cohorts as (
    select *
    from viz.cohort_retention
),

final as (
    select *
    from cohorts
    where
        business_unit = %(business_unit)s::text
        and (%(from_month)s::date is null or cohort_month >= %(from_month)s::date)
        and (%(to_month)s::date is null or cohort_month <= %(to_month)s::date)
    order by cohort_month, month
)

select * from final
