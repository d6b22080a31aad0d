-- Certified cohort retention over all business units for a range of cohorts.
-- Grain: one row per cohort month and month.
with cohorts as (
    select *
    from viz.cohort_retention_total
),

final as (
    select *
    from cohorts
    where
        (%(from_month)s::date is null or cohort_month >= %(from_month)s::date)
        and (%(to_month)s::date is null or cohort_month <= %(to_month)s::date)
    order by cohort_month, month
)

select * from final
