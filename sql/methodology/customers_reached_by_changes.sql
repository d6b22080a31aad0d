-- The customers whose input digest (mart_customer_input) an incremental build
-- recomputes: each customer, before the build's changes and after them, of a
-- contract in mart_contract_scope (every contract whose lines' intervals,
-- dates, renewals, account, customer or override a change may have reached),
-- and each customer whose account row changed, came or went. No other
-- customer's inputs can differ from the last build's (revcert.methodology.mart).
-- Grain: one row per customer.
with reached_contracts as (
    select contract_id
    from mart.mart_contract_scope
),

customers_of_reached_contracts as (
    select customer_id
    from mart.mart_contract_customer
    where contract_id in (select reached_contracts.contract_id from reached_contracts)
    union
    select customer_id
    from pg_temp.previous_mart_contract_customer
    where contract_id in (select reached_contracts.contract_id from reached_contracts)
),

changed_accounts as (
    select coalesce(current_customers.customer_id, previous_customers.customer_id) as customer_id
    from mart.mart_customer as current_customers
    full join pg_temp.previous_mart_customer as previous_customers
        on current_customers.customer_id = previous_customers.customer_id
    where
        (
            current_customers.customer_id,
            current_customers.customer_name,
            current_customers.business_unit,
            current_customers.is_account_live
        ) is distinct from (
            previous_customers.customer_id,
            previous_customers.customer_name,
            previous_customers.business_unit,
            previous_customers.is_account_live
        )
),

final as (
    select customer_id
    from customers_of_reached_contracts
    union
    select customer_id
    from changed_accounts
)

select customer_id
from final
where customer_id is not null
