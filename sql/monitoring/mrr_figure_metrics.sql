-- The figures a run built, measured after transform (issue 14): the as-of month's ending MRR of each
-- business unit, and of all of them, relative to the ending MRR published for the latest month up to
-- it (the figures people see now). The ratio is computed here from the exact amounts, so no amount
-- leaves the warehouse; it is rounded to 6 places (a statistic, never money). A unit with nothing
-- published, or published at zero, has nothing to be compared with and is left out.
-- Grain: one row per business unit, and one for all of them.
with as_of_month as (
    select date_trunc('month', %(as_of_date)s::date)::date as month
    -- Only a mart this run built.
    from mart.mart_build
    where certification_id = %(certification_id)s
),

built as (
    select
        bridge.business_unit,
        bridge.ending_mrr
    from mart.mart_mrr_bridge as bridge
    inner join as_of_month
        on bridge.month = as_of_month.month
    union all
    select
        'all business units' as business_unit,
        total.ending_mrr
    from mart.mart_mrr_bridge_total as total
    inner join as_of_month
        on total.month = as_of_month.month
),

published as (
    select distinct on (bridge.business_unit)
        bridge.business_unit,
        bridge.month,
        bridge.ending_mrr
    from viz.mrr_bridge as bridge
    inner join as_of_month
        on bridge.month <= as_of_month.month
    order by bridge.business_unit asc, bridge.month desc
),

published_total as (
    select
        'all business units' as business_unit,
        total.month,
        total.ending_mrr
    from viz.mrr_bridge_total as total
    inner join as_of_month
        on total.month <= as_of_month.month
    order by total.month desc
    limit 1
),

compared as (
    select * from published
    union all
    select * from published_total
),

measured as (
    select
        'ending_mrr_change' as metric,
        built.business_unit as subject,
        round(built.ending_mrr / nullif(compared.ending_mrr, 0) - 1, 6) as value,
        jsonb_build_object(
            'ending_mrr', built.ending_mrr::text,
            'published_ending_mrr', compared.ending_mrr::text,
            'published_month', compared.month
        ) as detail
    from built
    inner join compared
        on built.business_unit = compared.business_unit
),

final as (
    select * from measured
    where value is not null
)

select * from final
