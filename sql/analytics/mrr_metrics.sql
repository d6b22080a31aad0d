-- mrr_metrics: the SaaS metrics a board asks for, per month and business
-- unit, and per month over all units (business_unit null), computed from the
-- published customer-months only: what is shown and certified, nothing else.
--   arr                 ending MRR x 12
--   logo churn          churned customers / customers with starting MRR
--   average MRR         ending MRR / active customers (ending MRR > 0), to the cent
--   NRR (monthly)       ending MRR of the customers with starting MRR / their starting MRR
--                       = (starting + expansion + contraction + churn) / starting
--   GRR (monthly)       the same with each customer capped at its starting MRR
--                       = (starting + contraction + churn) / starting
--   NRR, GRR (12 months) the same for the customers with MRR twelve months
--                       earlier, against their MRR then; null unless that
--                       month is published
-- Percentages are rounded half to even to 0.1; null where the base is zero.
-- Grain: one row per month and business unit, and one per month (unit null).
-- Every customer-month of a month is published by the month's certification
-- (the one its bridge total carries: the view viz.customer_month), so the
-- certifications of a month's metrics are read from the bridge total rather
-- than gathered from its customer-months, which would sort them all.
-- A month's totals are summed from its units' sums, so each customer-month is
-- added once (grouping sets added every row twice: at 1,000,000 lines the
-- statement took 6.8 to 7.8 s, against 5.5 to 5.9 s).
with published_months as (
    select
        month,
        certification_id
    from viz.mrr_bridge_total
),

-- Read where used, not materialised: each use reads the table once, where a
-- materialised copy of every customer-month was written out and read back
-- three times.
customer_months as not materialized (
    select
        figures.month,
        figures.customer_id,
        figures.business_unit,
        figures.currency,
        figures.snapshot_date,
        figures.starting_mrr,
        figures.movement_type,
        figures.ending_mrr
    from viz.customer_month_figures as figures
    inner join published_months
        on figures.month = published_months.month
),

year_earlier as (
    select
        published_months.month,
        earlier.business_unit,
        earlier.ending_mrr as base_mrr,
        coalesce(later.ending_mrr, 0) as ending_mrr
    from published_months
    inner join customer_months as earlier
        on
            earlier.month = (published_months.month - interval '12 months')::date
            and earlier.ending_mrr > 0
    left join customer_months as later
        on
            earlier.customer_id = later.customer_id
            and published_months.month = later.month
),

twelve_months_by_unit as (
    select
        month,
        business_unit,
        sum(base_mrr) as trailing_base_mrr,
        sum(ending_mrr) as trailing_net_mrr,
        sum(least(ending_mrr, base_mrr)) as trailing_gross_mrr
    from year_earlier
    group by month, business_unit
),

twelve_months as (
    select
        month,
        business_unit,
        trailing_base_mrr,
        trailing_net_mrr,
        trailing_gross_mrr
    from twelve_months_by_unit
    union all
    select
        month,
        null as business_unit,
        sum(trailing_base_mrr) as trailing_base_mrr,
        sum(trailing_net_mrr) as trailing_net_mrr,
        sum(trailing_gross_mrr) as trailing_gross_mrr
    from twelve_months_by_unit
    group by month
),

monthly_by_unit as (
    select
        month,
        business_unit,
        min(currency) as currency,
        max(snapshot_date) as snapshot_date,
        sum(ending_mrr) as ending_mrr,
        sum(starting_mrr) as starting_mrr,
        sum(least(ending_mrr, starting_mrr)) as gross_retained_mrr,
        sum(ending_mrr) filter (where starting_mrr > 0) as net_retained_mrr,
        count(*) filter (where ending_mrr > 0) as active_customers,
        count(*) filter (where starting_mrr > 0) as starting_customers,
        count(*) filter (where movement_type = 'new') as new_customers,
        count(*) filter (where movement_type = 'expansion') as expansion_customers,
        count(*) filter (where movement_type = 'contraction') as contraction_customers,
        count(*) filter (where movement_type = 'churn') as churned_customers,
        count(*) filter (where movement_type = 'winback') as winback_customers
    from customer_months
    group by month, business_unit
),

monthly as (
    select
        month,
        business_unit,
        currency,
        snapshot_date,
        ending_mrr,
        starting_mrr,
        gross_retained_mrr,
        net_retained_mrr,
        active_customers,
        starting_customers,
        new_customers,
        expansion_customers,
        contraction_customers,
        churned_customers,
        winback_customers
    from monthly_by_unit
    union all
    select
        month,
        null as business_unit,
        min(currency) as currency,
        max(snapshot_date) as snapshot_date,
        sum(ending_mrr) as ending_mrr,
        sum(starting_mrr) as starting_mrr,
        sum(gross_retained_mrr) as gross_retained_mrr,
        sum(net_retained_mrr) as net_retained_mrr,
        sum(active_customers)::bigint as active_customers,
        sum(starting_customers)::bigint as starting_customers,
        sum(new_customers)::bigint as new_customers,
        sum(expansion_customers)::bigint as expansion_customers,
        sum(contraction_customers)::bigint as contraction_customers,
        sum(churned_customers)::bigint as churned_customers,
        sum(winback_customers)::bigint as winback_customers
    from monthly_by_unit
    group by month
),

final as (
    select
        monthly.month,
        monthly.business_unit,
        monthly.currency,
        monthly.snapshot_date,
        monthly.ending_mrr,
        monthly.ending_mrr * 12 as arr,
        monthly.active_customers,
        monthly.starting_customers,
        monthly.new_customers,
        monthly.expansion_customers,
        monthly.contraction_customers,
        monthly.churned_customers,
        monthly.winback_customers,
        mart.round_half_even(
            monthly.churned_customers * 100.0 / nullif(monthly.starting_customers, 0), 1
        ) as logo_churn_pct,
        mart.round_half_even(monthly.ending_mrr / nullif(monthly.active_customers, 0), 2)
            as average_mrr_per_customer,
        mart.round_half_even(monthly.net_retained_mrr * 100 / nullif(monthly.starting_mrr, 0), 1) as nrr_pct,
        mart.round_half_even(monthly.gross_retained_mrr * 100 / nullif(monthly.starting_mrr, 0), 1) as grr_pct,
        twelve_months.trailing_base_mrr,
        twelve_months.trailing_net_mrr,
        twelve_months.trailing_gross_mrr,
        mart.round_half_even(twelve_months.trailing_net_mrr * 100 / nullif(twelve_months.trailing_base_mrr, 0), 1)
            as nrr_12m_pct,
        mart.round_half_even(twelve_months.trailing_gross_mrr * 100 / nullif(twelve_months.trailing_base_mrr, 0), 1)
            as grr_12m_pct,
        array[published_months.certification_id] as certification_ids,
        now() as computed_at
    from monthly
    inner join published_months
        on monthly.month = published_months.month
    left join twelve_months
        on
            monthly.month = twelve_months.month
            and monthly.business_unit is not distinct from twelve_months.business_unit
)

select * from final
