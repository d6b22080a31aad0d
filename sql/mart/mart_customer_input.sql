-- mart_customer_input: a digest of everything the customer-grain models read
-- about one customer: its account (name, business unit), each line carrying
-- its MRR (contract, product and its name, currency, rate, line MRR, service
-- and MRR periods) and each of its contracts (account, dates, the contracts it
-- renews, any override). A build recomputes a customer's rows only when this
-- digest changed since the last build; anything else they read (the renewal
-- grace, the reporting currency) makes the build whole when it changes, and the
-- as-of date moving on within its week and month rebuilds every customer's
-- as-of month (revcert.methodology.mart). An incremental build digests again
-- only the customers of mart_customer_input_scope, whom its changes may reach;
-- the others keep the last build's digest. Each row is rendered as
-- PostgreSQL's row text, where a null and an empty text differ, in code point
-- order (no collation's version can reorder it).
-- Grain: one row per customer.
with scope as (
    select customer_id
    from mart.mart_customer_input_scope
),

customers as (
    select
        customer_id,
        (customer_name, business_unit, is_account_live)::text as account_text
    from mart.mart_customer
    where %(whole)s or customer_id in (select scope.customer_id from scope)
),

products as (
    select
        product_id,
        product_name
    from staging.stg_product
    where not is_deleted
),

line_inputs as (
    select
        intervals.customer_id,
        string_agg(
            (
                intervals.subscription_line_id,
                intervals.contract_id,
                lines.product_id,
                products.product_name,
                lines.currency_iso_code,
                lines.conversion_rate,
                intervals.line_mrr,
                intervals.service_start_date,
                intervals.service_end_date,
                intervals.mrr_end_date
            )::text,
            ';' order by intervals.subscription_line_id collate "C"  -- noqa: RF02
        ) as lines_text
    from mart.mart_service_interval as intervals
    inner join mart.mart_subscription_line as lines
        on intervals.subscription_line_id = lines.subscription_line_id
    left join products
        on lines.product_id = products.product_id
    where %(whole)s or intervals.customer_id in (select scope.customer_id from scope)
    group by intervals.customer_id
),

renewed as (
    select
        successor_contract_id as contract_id,
        array_agg(predecessor_contract_id order by predecessor_contract_id) as renews_contract_ids
    from mart.mart_renewal_link
    group by successor_contract_id
),

contracts as (
    select
        contract_id,
        start_date,
        end_date
    from staging.stg_contract
    where not is_deleted
),

contract_inputs as (
    select
        contract_customers.customer_id,
        string_agg(
            (
                contract_customers.contract_id,
                contract_customers.account_id,
                contracts.start_date,
                contracts.end_date,
                renewed.renews_contract_ids,
                contract_customers.is_overridden,
                contract_customers.override_reason,
                contract_customers.override_approver
            )::text,
            ';' order by contract_customers.contract_id collate "C"  -- noqa: RF02
        ) as contracts_text
    from mart.mart_contract_customer as contract_customers
    left join contracts
        on contract_customers.contract_id = contracts.contract_id
    left join renewed
        on contract_customers.contract_id = renewed.contract_id
    where
        contract_customers.customer_id is not null
        and (%(whole)s or contract_customers.customer_id in (select scope.customer_id from scope))
    group by contract_customers.customer_id
),

final as (
    select
        customers.customer_id,
        sha256(convert_to(
            concat_ws(
                E'\n',
                customers.account_text,
                coalesce(line_inputs.lines_text, ''),
                coalesce(contract_inputs.contracts_text, '')
            ),
            'UTF8'
        )) as input_digest
    from customers
    left join line_inputs
        on customers.customer_id = line_inputs.customer_id
    left join contract_inputs
        on customers.customer_id = contract_inputs.customer_id
)

select * from final
