-- mart_cohort_retention_total: cohort retention over all business units (as
-- mart_cohort_retention, with each count and amount the exact sum over the
-- units and the percentages recomputed from those sums).
-- Grain: one row per cohort month and month.
with cohorts as (
    select
        cohort_month,
        month,
        months_since_cohort,
        currency,
        snapshot_date,
        cohort_customers,
        active_customers,
        cohort_starting_mrr,
        ending_mrr
    from mart.mart_cohort_retention
),

totals as (
    select
        cohort_month,
        month,
        min(months_since_cohort) as months_since_cohort,
        min(currency) as currency,
        max(snapshot_date) as snapshot_date,
        sum(cohort_customers) as cohort_customers,
        sum(active_customers) as active_customers,
        sum(cohort_starting_mrr) as cohort_starting_mrr,
        sum(ending_mrr) as ending_mrr
    from cohorts
    group by cohort_month, month
),

final as (
    select
        cohort_month,
        month,
        months_since_cohort,
        currency,
        snapshot_date,
        cohort_customers,
        active_customers,
        cohort_starting_mrr,
        ending_mrr,
        case
            when cohort_starting_mrr > 0
                then mart.round_half_even((ending_mrr * 100)::numeric(1000, 40) / cohort_starting_mrr, 1)
        end as mrr_retention_pct,
        mart.round_half_even(
            (active_customers * 100)::numeric(1000, 40) / cohort_customers, 1
        ) as logo_retention_pct
    from totals
)

select * from final
