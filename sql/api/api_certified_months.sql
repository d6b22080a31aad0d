-- Every certified month shown, with its business units and certification.
-- Grain: one row per month.
with totals as (
    select
        month,
        currency,
        snapshot_date,
        certification_id,
        certified_at
    from viz.mrr_bridge_total
),

units as (
    select
        month,
        array_agg(business_unit order by business_unit) as business_units
    from viz.mrr_bridge
    group by month
),

final as (
    select
        totals.month,
        totals.currency,
        totals.snapshot_date,
        coalesce(units.business_units, '{}') as business_units,
        totals.certification_id,
        totals.certified_at
    from totals
    left join units
        on totals.month = units.month
    order by totals.month
)

select * from final
