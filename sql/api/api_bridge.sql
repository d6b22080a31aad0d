-- The published bridge for a month range: each business unit's months (one unit, or all of them), then
-- the published totals (`is_total`, no business unit), each month beside the month before it. The page's
-- KPIs show a month's change on the previous month, computed here in numeric (the browser never does
-- arithmetic on money). The previous month is joined before the range is applied, so the first month of a
-- range still has its change.
-- Every published column (the contract is revcert.warehouse.schema), then the changes and `is_partial`.
-- Grain: one row per month and business unit, and one per month for the totals.
with published as (
    select
        false as is_total,
        month,
        business_unit,
        currency,
        snapshot_date,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        net_new_mrr,
        ending_mrr,
        recognized_revenue,
        active_customers,
        certification_id,
        certified_at
    from viz.mrr_bridge
    union all
    select
        true as is_total,
        month,
        null as business_unit,
        currency,
        snapshot_date,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        net_new_mrr,
        ending_mrr,
        recognized_revenue,
        active_customers,
        certification_id,
        certified_at
    from viz.mrr_bridge_total
),

month_on_month as (
    select
        this_month.*,
        previous.month as previous_month,
        this_month.ending_mrr - previous.ending_mrr as ending_mrr_change,
        round(100 * (this_month.ending_mrr - previous.ending_mrr) / nullif(previous.ending_mrr, 0), 1)
            as ending_mrr_change_pct,
        this_month.recognized_revenue - previous.recognized_revenue as recognized_revenue_change,
        round(
            100 * (this_month.recognized_revenue - previous.recognized_revenue)
            / nullif(previous.recognized_revenue, 0),
            1
        ) as recognized_revenue_change_pct,
        this_month.net_new_mrr - previous.net_new_mrr as net_new_mrr_change,
        this_month.active_customers - previous.active_customers as active_customers_change,
        -- Until the snapshot reaches the month's last day, its MRR and revenue are the month so far.
        this_month.snapshot_date < (this_month.month + interval '1 month' - interval '1 day')::date as is_partial
    from published as this_month
    left join published as previous
        on
            this_month.is_total = previous.is_total
            and this_month.business_unit is not distinct from previous.business_unit
            and (this_month.month - interval '1 month')::date = previous.month
),

final as (
    select *
    from month_on_month
    where
        (%(from_month)s::date is null or month >= %(from_month)s::date)
        and (%(to_month)s::date is null or month <= %(to_month)s::date)
        and (is_total or %(business_unit)s::text is null or business_unit = %(business_unit)s::text)
    order by is_total, month, business_unit
)

select * from final
