-- Every certified month shown, with its business units and certification.
-- Grain: one row per month.
with bridge as (
    select
        month,
        business_unit,
        snapshot_date,
        certification_id,
        certified_at
    from viz.mrr_bridge
),

final as (
    select
        month,
        max(snapshot_date) as snapshot_date,
        array_agg(distinct business_unit order by business_unit) as business_units,
        max(certification_id) as certification_id,
        max(certified_at) as certified_at
    from bridge
    group by month
    order by month
)

select * from final
