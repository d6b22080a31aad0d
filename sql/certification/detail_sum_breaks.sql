-- The customer detail against the bridge it is published with (Part C 3): for
-- every month and business unit, and every month in total (business_unit
-- null), each of the bridge's figures equals the sum of its customer-months.
-- Returns the figures that differ only. A month's totals are summed from its
-- units' sums, so each customer-month is added once (grouping sets added every
-- row twice).
-- Grain: one row per month, business unit (or total) and figure that differs.
with detail_by_unit as (
    select
        month,
        business_unit,
        sum(starting_mrr) as starting_mrr,
        coalesce(sum(movement_amount) filter (where movement_type = 'new'), 0) as new,
        coalesce(sum(movement_amount) filter (where movement_type = 'expansion'), 0) as expansion,
        coalesce(sum(movement_amount) filter (where movement_type = 'contraction'), 0) as contraction,
        coalesce(sum(movement_amount) filter (where movement_type = 'churn'), 0) as churn,
        coalesce(sum(movement_amount) filter (where movement_type = 'winback'), 0) as winback,
        sum(movement_amount) as net_new_mrr,
        sum(ending_mrr) as ending_mrr,
        sum(recognized_revenue) as recognized_revenue,
        count(*) filter (where ending_mrr > 0) as active_customers
    from mart.mart_customer_month
    group by month, business_unit
),

detail as (
    select
        month,
        business_unit,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        net_new_mrr,
        ending_mrr,
        recognized_revenue,
        active_customers
    from detail_by_unit
    union all
    select
        month,
        null as business_unit,
        sum(starting_mrr) as starting_mrr,
        sum(new) as new,
        sum(expansion) as expansion,
        sum(contraction) as contraction,
        sum(churn) as churn,
        sum(winback) as winback,
        sum(net_new_mrr) as net_new_mrr,
        sum(ending_mrr) as ending_mrr,
        sum(recognized_revenue) as recognized_revenue,
        sum(active_customers)::bigint as active_customers
    from detail_by_unit
    group by month
),

bridge as (
    select
        month,
        business_unit,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        net_new_mrr,
        ending_mrr,
        recognized_revenue,
        active_customers
    from mart.mart_mrr_bridge
    union all
    select
        month,
        null as business_unit,
        starting_mrr,
        new,
        expansion,
        contraction,
        churn,
        winback,
        net_new_mrr,
        ending_mrr,
        recognized_revenue,
        active_customers
    from mart.mart_mrr_bridge_total
),

compared as (
    select
        coalesce(bridge.month, detail.month) as month,
        coalesce(bridge.business_unit, detail.business_unit) as business_unit,
        figures.figure,
        figures.bridge_value,
        figures.detail_value
    from bridge
    full join detail
        on
            bridge.month = detail.month
            and bridge.business_unit is not distinct from detail.business_unit
    cross join lateral (
        values
        ('starting_mrr', bridge.starting_mrr, coalesce(detail.starting_mrr, 0)),
        ('new', bridge.new, coalesce(detail.new, 0)),
        ('expansion', bridge.expansion, coalesce(detail.expansion, 0)),
        ('contraction', bridge.contraction, coalesce(detail.contraction, 0)),
        ('churn', bridge.churn, coalesce(detail.churn, 0)),
        ('winback', bridge.winback, coalesce(detail.winback, 0)),
        ('net_new_mrr', bridge.net_new_mrr, coalesce(detail.net_new_mrr, 0)),
        ('ending_mrr', bridge.ending_mrr, coalesce(detail.ending_mrr, 0)),
        ('recognized_revenue', bridge.recognized_revenue, coalesce(detail.recognized_revenue, 0)),
        ('active_customers', bridge.active_customers, coalesce(detail.active_customers, 0))
    ) as figures (figure, bridge_value, detail_value)
),

final as (
    select
        month,
        business_unit,
        figure,
        bridge_value,
        detail_value
    from compared
    where bridge_value is distinct from detail_value
    order by month, business_unit nulls last, figure
)

select * from final
