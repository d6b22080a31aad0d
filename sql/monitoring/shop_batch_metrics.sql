-- What a staged batch of one shop did, measured before transform (issue 14): the orders it read, and
-- the change in the orders the shop has at the source since its previous staged batch. Counts and
-- ratios only (ratios rounded to 6 places: statistics, never money).
-- Grain: one row per metric (the subject is the shop).
with audit as (
    select
        shop_id,
        orders_fetched,
        source_count
    from staging.shopify_extraction_audit
    where batch_id = %(batch_id)s
),

previous_audit as (
    select source_count
    from staging.shopify_extraction_audit
    where
        shop_id = %(shop_id)s
        and batch_id < %(batch_id)s
    order by batch_id desc
    limit 1
),

records_changed as (
    select
        'records_changed' as metric,
        shop_id as subject,
        orders_fetched::numeric as value,
        jsonb_build_object('orders_fetched', orders_fetched) as detail
    from audit
),

live_records_change as (
    select
        'live_records_change' as metric,
        audit.shop_id as subject,
        round(audit.source_count::numeric / nullif(previous_audit.source_count, 0) - 1, 6) as value,
        jsonb_build_object('orders', audit.source_count, 'previous_orders', previous_audit.source_count) as detail
    from audit
    cross join previous_audit
),

measured as (
    select * from records_changed
    union all
    select * from live_records_change
),

final as (
    select * from measured
    where value is not null
)

select * from final
