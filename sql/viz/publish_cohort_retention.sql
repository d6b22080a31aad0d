-- Write the certified cohort retention for the replaced months into
-- viz.cohort_retention, from the same customer snapshots the bridge was
-- certified from: per cohort (month of first MRR) and business unit, how many
-- of its customers still have MRR, and their MRR against the cohort's start.
-- The caller has removed those months first, in the same transaction.
-- Grain: one row per cohort month, business unit and month.
with snapshots as (
    select
        customer_id,
        month,
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

cohort_start as (
    select
        cohorts.cohort_month,
        snapshots.business_unit,
        count(*) as cohort_customers,
        sum(snapshots.ending_mrr) as cohort_starting_mrr
    from cohorts
    inner join snapshots
        on snapshots.customer_id = cohorts.customer_id
        and snapshots.month = cohorts.cohort_month
    group by cohorts.cohort_month, snapshots.business_unit
),

cohort_months as (
    select
        cohorts.cohort_month,
        snapshots.business_unit,
        snapshots.month,
        count(*) filter (where snapshots.ending_mrr > 0) as active_customers,
        sum(snapshots.ending_mrr) as ending_mrr
    from cohorts
    inner join snapshots
        on snapshots.customer_id = cohorts.customer_id
    where snapshots.month = any(%(months)s)
    group by cohorts.cohort_month, snapshots.business_unit, snapshots.month
),

certification as (
    select
        certification_id,
        certified_at
    from certification.certification_run
    where certification_id = %(certification_id)s
        and status = 'certified'
)

insert into viz.cohort_retention
select
    cohort_months.cohort_month,
    cohort_months.business_unit,
    cohort_months.month,
    ((extract(year from cohort_months.month) - extract(year from cohort_months.cohort_month)) * 12
        + extract(month from cohort_months.month) - extract(month from cohort_months.cohort_month))::integer,
    cohort_start.cohort_customers,
    cohort_months.active_customers,
    cohort_start.cohort_starting_mrr,
    cohort_months.ending_mrr,
    certification.certification_id,
    certification.certified_at
from cohort_months
inner join cohort_start
    on cohort_start.cohort_month = cohort_months.cohort_month
    and cohort_start.business_unit = cohort_months.business_unit
cross join certification
