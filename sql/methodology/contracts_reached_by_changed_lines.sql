-- The contracts whose renewal grace or customer a build's changes may have
-- changed, besides the contracts the changed lines belonged to before it
-- (already in mart_contract_scope): the contracts the changed lines belong to
-- now; the contracts any of these renew, through this build's links or the
-- last's (a predecessor's grace runs to its earliest successor's start); the
-- predecessor of a link that came or went; and the contracts whose customer
-- changed (revcert.methodology.mart).
-- Grain: one row per contract.
with changed_lines as (
    select subscription_line_id
    from mart.mart_line_scope
),

line_contracts as (
    select contract_id
    from mart.mart_contract_scope
    union
    select contract_id
    from mart.mart_subscription_line
    where subscription_line_id in (select changed_lines.subscription_line_id from changed_lines)
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
    select coalesce(current_links.predecessor_contract_id, previous_links.predecessor_contract_id) as contract_id
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
    inner join line_contracts
        on links.successor_contract_id = line_contracts.contract_id
),

current_customers as (
    select
        contract_id,
        customer_id
    from mart.mart_contract_customer
),

previous_customers as (
    select
        contract_id,
        customer_id
    from pg_temp.previous_mart_contract_customer
),

changed_customers as (
    select coalesce(current_customers.contract_id, previous_customers.contract_id) as contract_id
    from current_customers
    full join previous_customers
        on current_customers.contract_id = previous_customers.contract_id
    where current_customers.customer_id is distinct from previous_customers.customer_id
),

final as (
    select contract_id
    from line_contracts
    union
    select contract_id
    from renewed_contracts
    union
    select contract_id
    from changed_links
    union
    select contract_id
    from changed_customers
)

select contract_id
from final
where contract_id is not null
