-- The movement identity (METHODOLOGY.md A8), from the stored tables: for every
-- month and business unit, and for every month in total (business_unit null),
-- the movements add up to ending MRR minus starting MRR. Returns the breaks
-- only, with the customers whose own movement disagrees with their snapshots.
-- Grain: one row per month and business unit (or month total) that does not balance.
with movements as (
    select
        month,
        business_unit,
        sum(movement_amount) as movements
    from mart.mart_customer_movement
    group by grouping sets ((month, business_unit), (month))
),

snapshots as (
    select
        month,
        business_unit,
        sum(ending_mrr) - sum(starting_mrr) as ending_minus_starting
    from mart.mart_customer_snapshot
    group by grouping sets ((month, business_unit), (month))
),

customer_breaks as (
    select
        snapshots.month,
        snapshots.business_unit,
        snapshots.customer_id
    from mart.mart_customer_snapshot as snapshots
    full join mart.mart_customer_movement as movements
        on snapshots.customer_id = movements.customer_id
            and snapshots.month = movements.month
    where coalesce(movements.movement_amount, 0)
        <> coalesce(snapshots.ending_mrr, 0) - coalesce(snapshots.starting_mrr, 0)
),

compared as (
    select
        coalesce(movements.month, snapshots.month) as month,
        coalesce(movements.business_unit, snapshots.business_unit) as business_unit,
        coalesce(movements.movements, 0) as movements,
        coalesce(snapshots.ending_minus_starting, 0) as ending_minus_starting
    from movements
    full join snapshots
        on movements.month = snapshots.month
            and snapshots.business_unit is not distinct from movements.business_unit
),

final as (
    select
        compared.month,
        compared.business_unit,
        compared.movements,
        compared.ending_minus_starting,
        (
            select array_agg(customer_breaks.customer_id order by customer_breaks.customer_id)
            from customer_breaks
            where customer_breaks.month = compared.month
                and (compared.business_unit is null or customer_breaks.business_unit = compared.business_unit)
        ) as customer_ids
    from compared
    where compared.movements <> compared.ending_minus_starting
    order by compared.month, compared.business_unit nulls last
)

select * from final
