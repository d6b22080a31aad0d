-- mart_customer_movement: the MRR movement of each customer and month
-- (METHODOLOGY.md A5), built apart from the snapshots' starting MRR so that the
-- movement identity can catch a mistake in either.
--   s = 0, e > 0, never any MRR before the month   new          e
--   s = 0, e > 0, otherwise                        winback      e
--   s > 0, e = 0                                   churn       -s
--   s > 0, e > s                                   expansion    e - s
--   s > 0, 0 < e < s                               contraction  e - s
--   otherwise                                      none         0
-- When only the as-of date moved on, every customer's as-of month
-- is rebuilt, from the snapshots of that month and the one before.
-- Grain: one row per customer and month.
with scope as (
    select customer_id
    from mart.mart_customer_scope
),

snapshots as (
    select
        customer_id,
        month,
        business_unit,
        ending_mrr,
        %(whole)s or customer_id in (select scope.customer_id from scope) as is_every_month
    from mart.mart_customer_snapshot
    where %(whole)s
        or customer_id in (select scope.customer_id from scope)
        or month >= (%(rebuilt_month)s::date - interval '1 month')::date
),

cohorts as (
    select
        customer_id,
        first_service_date
    from mart.mart_customer_cohort
    where %(whole)s or %(rebuilt_month)s::date is not null or customer_id in (select scope.customer_id from scope)
),

previous_month as (
    select
        snapshots.customer_id,
        snapshots.month,
        snapshots.business_unit,
        coalesce(lag(snapshots.ending_mrr) over (partition by snapshots.customer_id order by snapshots.month), 0)
            as previous_ending_mrr,
        snapshots.ending_mrr,
        cohorts.first_service_date,
        snapshots.is_every_month
    from snapshots
    inner join cohorts
        on snapshots.customer_id = cohorts.customer_id
),

classified as (
    select
        customer_id,
        month,
        business_unit,
        previous_ending_mrr,
        ending_mrr,
        case
            when previous_ending_mrr = 0 and ending_mrr > 0 and first_service_date >= month then 'new'
            when previous_ending_mrr = 0 and ending_mrr > 0 then 'winback'
            when previous_ending_mrr > 0 and ending_mrr = 0 then 'churn'
            when previous_ending_mrr > 0 and ending_mrr > previous_ending_mrr then 'expansion'
            when previous_ending_mrr > 0 and ending_mrr > 0 and ending_mrr < previous_ending_mrr then 'contraction'
            else 'none'
        end as movement_type
    from previous_month
    where is_every_month or month = %(rebuilt_month)s
),

final as (
    select
        customer_id,
        month,
        business_unit,
        movement_type,
        case movement_type
            when 'new' then ending_mrr
            when 'winback' then ending_mrr
            when 'churn' then -previous_ending_mrr
            when 'expansion' then ending_mrr - previous_ending_mrr
            when 'contraction' then ending_mrr - previous_ending_mrr
            else 0
        end as movement_amount
    from classified
)

select * from final
