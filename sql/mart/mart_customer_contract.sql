-- mart_customer_contract: the contracts of each customer, with the renewal
-- links that chained them into one customer and the classification override,
-- if any, that decided it (METHODOLOGY.md A3).
-- Grain: one row per live contract of a customer with a published month.
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

contract_customers as (
    select
        contract_id,
        account_id,
        customer_id,
        is_overridden,
        override_reason,
        override_approver
    from mart.mart_contract_customer
    where customer_id is not null
        and (%(whole)s or customer_id in (select scope.customer_id from scope))
),

contracts as (
    select
        contract_id,
        start_date,
        end_date
    from staging.stg_contract
    where not is_deleted
),

renewed as (
    select
        successor_contract_id as contract_id,
        array_agg(predecessor_contract_id order by predecessor_contract_id) as renews_contract_ids
    from mart.mart_renewal_link
    group by successor_contract_id
),

published_customers as (
    select distinct customer_id
    from mart.mart_customer_month
    where %(whole)s or customer_id in (select scope.customer_id from scope)
),

final as (
    select
        contract_customers.contract_id,
        contract_customers.customer_id,
        contract_customers.account_id,
        contracts.start_date,
        contracts.end_date,
        coalesce(renewed.renews_contract_ids, '{}') as renews_contract_ids,
        contract_customers.is_overridden,
        contract_customers.override_reason,
        contract_customers.override_approver
    from contract_customers
    inner join contracts
        on contract_customers.contract_id = contracts.contract_id
    inner join published_customers
        on contract_customers.customer_id = published_customers.customer_id
    left join renewed
        on contract_customers.contract_id = renewed.contract_id
)

select * from final
