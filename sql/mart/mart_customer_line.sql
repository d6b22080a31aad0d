-- mart_customer_line: the lines behind each customer's MRR (METHODOLOGY.md A2,
-- A4): line MRR in the reporting currency, the currency and dated rate it was
-- converted at, its service period, and how long it carries MRR (renewal grace
-- included). A customer's MRR on a day is the sum of the lines carrying MRR on
-- it (the detail_sums check holds that for every published month).
-- Grain: one row per line of a customer with a published month.
-- Rebuilt: the customers in scope and, when only the as-of date moved on, those
-- with no published month before the as-of month (they alone may have gained
-- or lost one).
with scope as (
    select customer_id
    from mart.mart_customer_scope
    union
    select customer_id
    from mart.mart_customer_as_of_month_only
),

intervals as (
    select
        subscription_line_id,
        customer_id,
        contract_id,
        line_mrr,
        service_start_date,
        service_end_date,
        mrr_end_date
    from mart.mart_service_interval
    where %(whole)s or customer_id in (select scope.customer_id from scope)
),

lines as (
    select
        subscription_line_id,
        product_id,
        currency_iso_code,
        conversion_rate
    from mart.mart_subscription_line
),

products as (
    select
        product_id,
        product_name
    from staging.stg_product
    where not is_deleted
),

published_customers as (
    select distinct customer_id
    from mart.mart_customer_month
    where %(whole)s or customer_id in (select scope.customer_id from scope)
),

final as (
    select
        intervals.subscription_line_id,
        intervals.customer_id,
        intervals.contract_id,
        lines.product_id,
        products.product_name,
        lines.currency_iso_code,
        lines.conversion_rate,
        intervals.line_mrr,
        intervals.service_start_date,
        intervals.service_end_date,
        intervals.mrr_end_date
    from intervals
    inner join lines
        on intervals.subscription_line_id = lines.subscription_line_id
    inner join published_customers
        on intervals.customer_id = published_customers.customer_id
    left join products
        on lines.product_id = products.product_id
)

select * from final
