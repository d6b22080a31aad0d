-- The published bridge for a month range, one business unit or all of them.
-- Every published column (the contract is revcert.warehouse.schema).
-- Grain: one row per month and business unit.
with bridge as (
    select *
    from viz.mrr_bridge
),

final as (
    select *
    from bridge
    where
        (%(from_month)s::date is null or month >= %(from_month)s::date)
        and (%(to_month)s::date is null or month <= %(to_month)s::date)
        and (%(business_unit)s::text is null or business_unit = %(business_unit)s::text)
    order by month, business_unit
)

select * from final
