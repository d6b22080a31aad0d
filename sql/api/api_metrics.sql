-- The analytics layer's metrics for a month range: each business unit's months
-- (one unit, or all of them), then the totals over all units (`is_total`, no
-- business unit), each marked partial when its month holds the snapshot date
-- before the month's last day.
-- Grain: one row per month and business unit, and one per month for the totals.
with metrics as (
    select
        false as is_total,
        metrics.month,
        metrics.business_unit,
        metrics.currency,
        metrics.snapshot_date,
        metrics.ending_mrr,
        metrics.arr,
        metrics.active_customers,
        metrics.starting_customers,
        metrics.new_customers,
        metrics.expansion_customers,
        metrics.contraction_customers,
        metrics.churned_customers,
        metrics.winback_customers,
        metrics.logo_churn_pct,
        metrics.average_mrr_per_customer,
        metrics.nrr_pct,
        metrics.grr_pct,
        metrics.trailing_base_mrr,
        metrics.trailing_net_mrr,
        metrics.trailing_gross_mrr,
        metrics.nrr_12m_pct,
        metrics.grr_12m_pct,
        metrics.certification_ids,
        metrics.computed_at
    from analytics.mrr_metrics as metrics
    union all
    select
        true as is_total,
        totals.month,
        null as business_unit,
        totals.currency,
        totals.snapshot_date,
        totals.ending_mrr,
        totals.arr,
        totals.active_customers,
        totals.starting_customers,
        totals.new_customers,
        totals.expansion_customers,
        totals.contraction_customers,
        totals.churned_customers,
        totals.winback_customers,
        totals.logo_churn_pct,
        totals.average_mrr_per_customer,
        totals.nrr_pct,
        totals.grr_pct,
        totals.trailing_base_mrr,
        totals.trailing_net_mrr,
        totals.trailing_gross_mrr,
        totals.nrr_12m_pct,
        totals.grr_12m_pct,
        totals.certification_ids,
        totals.computed_at
    from analytics.mrr_metrics_total as totals
),

final as (
    select
        *,
        snapshot_date < (month + interval '1 month' - interval '1 day')::date as is_partial
    from metrics
    where
        (%(from_month)s::date is null or month >= %(from_month)s::date)
        and (%(to_month)s::date is null or month <= %(to_month)s::date)
        and (is_total or %(business_unit)s::text is null or business_unit = %(business_unit)s::text)
    order by is_total, business_unit, month
)

select * from final
