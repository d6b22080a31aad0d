-- mart_customer_month: the detail behind the bridge, one customer in one month:
-- its starting MRR, its movement, its ending MRR and its recognised revenue
-- (METHODOLOGY.md A4-A6), with its name and business unit. The bridge sums
-- these (the detail_sums check holds the two to the cent). Months in
-- which a customer has nothing (zero MRR at both ends and no revenue, after a
-- churn) are left out: they add nothing to any sum. When only the as-of date
-- moved on, every customer's as-of month is rebuilt.
-- Grain: one row per customer and month with MRR or revenue.
with scope as (
    select customer_id
    from mart.mart_customer_scope
),

snapshots as (
    select
        customer_id,
        month,
        snapshot_date,
        business_unit,
        starting_mrr,
        ending_mrr
    from mart.mart_customer_snapshot
    where %(whole)s or customer_id in (select scope.customer_id from scope) or month = %(rebuilt_month)s
),

movements as (
    select
        customer_id,
        month,
        movement_type,
        movement_amount
    from mart.mart_customer_movement
    where %(whole)s or customer_id in (select scope.customer_id from scope) or month = %(rebuilt_month)s
),

revenue as (
    select
        customer_id,
        month,
        recognized_revenue
    from mart.mart_customer_revenue
    where %(whole)s or customer_id in (select scope.customer_id from scope) or month = %(rebuilt_month)s
),

customers as (
    select
        customer_id,
        customer_name
    from mart.mart_customer
    where %(whole)s or %(rebuilt_month)s::date is not null or customer_id in (select scope.customer_id from scope)
),

reporting_currency as (
    select iso_code
    from mart.mart_reporting_currency
),

final as (
    select
        snapshots.month,
        snapshots.customer_id,
        snapshots.business_unit,
        customers.customer_name,
        reporting_currency.iso_code as currency,
        snapshots.snapshot_date,
        snapshots.starting_mrr,
        movements.movement_type,
        movements.movement_amount,
        snapshots.ending_mrr,
        revenue.recognized_revenue
    from snapshots
    inner join movements
        on
            snapshots.customer_id = movements.customer_id
            and snapshots.month = movements.month
    inner join revenue
        on
            snapshots.customer_id = revenue.customer_id
            and snapshots.month = revenue.month
    inner join customers
        on snapshots.customer_id = customers.customer_id
    cross join reporting_currency
    where
        snapshots.starting_mrr <> 0
        or snapshots.ending_mrr <> 0
        or revenue.recognized_revenue <> 0
)

select * from final
