-- Recurring lines that carry MRR but reached no customer (their contract's
-- chain could not be classified), so their MRR would be missing from every figure.
-- Grain: one row per such line.
with lines as (
    select
        subscription_line_id,
        contract_id
    from mart.mart_subscription_line
    where line_mrr is not null
),

intervals as (
    select subscription_line_id
    from mart.mart_service_interval
),

final as (
    select
        lines.subscription_line_id as record_id,
        format('contract %s has no customer', lines.contract_id) as detail
    from lines
    left join intervals
        on lines.subscription_line_id = intervals.subscription_line_id
    where intervals.subscription_line_id is null
    order by lines.subscription_line_id
)

select * from final
