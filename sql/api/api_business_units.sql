-- The business units with published figures: a business unit asked of the API must be one of them.
-- Grain: one row per business unit.
with bridge as (
    select business_unit
    from viz.mrr_bridge
),

final as (
    select distinct business_unit
    from bridge
    order by business_unit
)

select * from final
