-- mart_cohort_retention: how each cohort (METHODOLOGY.md A7: the month of a
-- customer's first day with MRR) of a business unit keeps its customers and
-- its MRR, month by month: customers still with MRR against the cohort's
-- customers, and their snapshot MRR against the cohort's MRR at the end of
-- its first month. Percentages are rounded half to even to 0.1; a cohort whose
-- first-month MRR is zero (its only lines ended inside that month) has no MRR
-- retention.
-- Grain: one row per cohort month, business unit and month, from the cohort
-- month through the as-of month.
with snapshots as (
    select
        customer_id,
        month,
        snapshot_date,
        business_unit,
        ending_mrr
    from mart.mart_customer_snapshot
),

cohorts as (
    select
        customer_id,
        cohort_month
    from mart.mart_customer_cohort
),

reporting_currency as (
    select iso_code
    from mart.mart_reporting_currency
),

cohort_months as (
    select
        cohorts.cohort_month,
        snapshots.business_unit,
        snapshots.month,
        max(snapshots.snapshot_date) as snapshot_date,
        count(*) as customers,
        count(*) filter (where snapshots.ending_mrr > 0) as active_customers,
        sum(snapshots.ending_mrr) as ending_mrr
    from cohorts
    inner join snapshots
        on cohorts.customer_id = snapshots.customer_id
    group by cohorts.cohort_month, snapshots.business_unit, snapshots.month
),

-- A cohort's start is its own first month, read from the same sums rather
-- than from a second pass over every snapshot.
cohort_start as (
    select
        cohort_month,
        business_unit,
        customers as cohort_customers,
        ending_mrr as cohort_starting_mrr
    from cohort_months
    where month = cohort_month
),

final as (
    select
        cohort_months.cohort_month,
        cohort_months.business_unit,
        cohort_months.month,
        (
            (extract(year from cohort_months.month) - extract(year from cohort_months.cohort_month)) * 12
            + extract(month from cohort_months.month) - extract(month from cohort_months.cohort_month)
        )::integer as months_since_cohort,
        reporting_currency.iso_code as currency,
        cohort_months.snapshot_date,
        cohort_start.cohort_customers,
        cohort_months.active_customers,
        cohort_start.cohort_starting_mrr,
        cohort_months.ending_mrr,
        case
            when cohort_start.cohort_starting_mrr > 0
                then mart.round_half_even(
                        (cohort_months.ending_mrr * 100)::numeric(1000, 40) / cohort_start.cohort_starting_mrr, 1
                    )
        end as mrr_retention_pct,
        mart.round_half_even(
            (cohort_months.active_customers * 100)::numeric(1000, 40) / cohort_start.cohort_customers, 1
        ) as logo_retention_pct
    from cohort_months
    inner join cohort_start
        on
            cohort_months.cohort_month = cohort_start.cohort_month
            and cohort_months.business_unit = cohort_start.business_unit
    cross join reporting_currency
)

select * from final
