-- The contracts whose renewal grace, customer or digested inputs a build's
-- changes may have changed, besides the contracts the changed lines belonged
-- to before it (already in mart_contract_scope): the contracts the changed
-- lines belong to now and the contracts a newer batch staged (a contract's
-- dates are its customer's inputs, whether it has lines or not); the
-- contracts any of these renew, through this build's links or the last's (a
-- predecessor's grace runs to its earliest successor's start); both ends of a
-- link that came or went (the successor's renewed contracts are inputs); and
-- the contracts whose customer, account or override changed
-- (revcert.methodology.mart).
-- Grain: one row per contract.
with changed_lines as (
    select subscription_line_id
    from mart.mart_line_scope
),

new_batches as (
    select batch_id
    from pg_temp.new_staged_batch
),

changed_contracts as (
    select contract_id
    from mart.mart_contract_scope
    union
    select contract_id
    from mart.mart_subscription_line
    where subscription_line_id in (select changed_lines.subscription_line_id from changed_lines)
    union
    select contract_id
    from staging.stg_contract
    where batch_id in (select new_batches.batch_id from new_batches)
),

current_links as (
    select
        predecessor_contract_id,
        successor_contract_id
    from mart.mart_renewal_link
),

previous_links as (
    select
        predecessor_contract_id,
        successor_contract_id
    from pg_temp.previous_mart_renewal_link
),

changed_links as (
    select
        coalesce(current_links.predecessor_contract_id, previous_links.predecessor_contract_id)
            as predecessor_contract_id,
        coalesce(current_links.successor_contract_id, previous_links.successor_contract_id)
            as successor_contract_id
    from current_links
    full join previous_links
        on
            current_links.predecessor_contract_id = previous_links.predecessor_contract_id
            and current_links.successor_contract_id = previous_links.successor_contract_id
    where current_links.predecessor_contract_id is null or previous_links.predecessor_contract_id is null
),

renewed_contracts as (
    select links.predecessor_contract_id as contract_id
    from (
        select * from current_links
        union
        select * from previous_links
    ) as links
    inner join changed_contracts
        on links.successor_contract_id = changed_contracts.contract_id
),

changed_customers as (
    select coalesce(current_customers.contract_id, previous_customers.contract_id) as contract_id
    from mart.mart_contract_customer as current_customers
    full join pg_temp.previous_mart_contract_customer as previous_customers
        on current_customers.contract_id = previous_customers.contract_id
    where
        (
            current_customers.account_id,
            current_customers.customer_id,
            current_customers.is_overridden,
            current_customers.override_reason,
            current_customers.override_approver
        ) is distinct from (
            previous_customers.account_id,
            previous_customers.customer_id,
            previous_customers.is_overridden,
            previous_customers.override_reason,
            previous_customers.override_approver
        )
),

final as (
    select contract_id
    from changed_contracts
    union
    select contract_id
    from renewed_contracts
    union
    select predecessor_contract_id
    from changed_links
    union
    select successor_contract_id
    from changed_links
    union
    select contract_id
    from changed_customers
)

select contract_id
from final
where contract_id is not null
