-- mart_contract_customer: the customer of every contract (METHODOLOGY.md A3).
-- The customer is the account of the root of the contract's renewal chain, so
-- a renewal booked on another account stays with the original customer. The
-- walk up the chain stops at a contract with a classification override, whose
-- row names the customer instead. A contract whose chain has a cycle, or whose
-- roots belong to different customers, gets no customer (customer_id is null):
-- the checks fail the run on it.
-- Grain: one row per live contract.
with recursive contracts as (
    select
        contract_id,
        account_id
    from staging.stg_contract
    where not is_deleted
),

links as (
    select
        predecessor_contract_id,
        successor_contract_id
    from mart.mart_renewal_link
),

overrides as (
    select
        contract_id,
        customer_account_id,
        reason,
        approver
    from staging.classification_override
),

ancestry (contract_id, ancestor_contract_id, path, is_cycle) as (
    select
        contract_id,
        contract_id,
        array[contract_id],
        false
    from contracts
    union all
    select
        ancestry.contract_id,
        links.predecessor_contract_id,
        ancestry.path || links.predecessor_contract_id,
        links.predecessor_contract_id = any(ancestry.path)
    from ancestry
    inner join links
        on links.successor_contract_id = ancestry.ancestor_contract_id
    where not ancestry.is_cycle
        and not exists (
            select 1 from overrides where overrides.contract_id = ancestry.ancestor_contract_id
        )
),

roots as (
    select
        ancestry.contract_id,
        coalesce(overrides.customer_account_id, contracts.account_id) as customer_id
    from ancestry
    inner join contracts
        on contracts.contract_id = ancestry.ancestor_contract_id
    left join overrides
        on overrides.contract_id = ancestry.ancestor_contract_id
    where not ancestry.is_cycle
        and (
            overrides.contract_id is not null
            or not exists (
                select 1 from links where links.successor_contract_id = ancestry.ancestor_contract_id
            )
        )
),

cycles as (
    select
        contract_id,
        bool_or(is_cycle and ancestor_contract_id = contract_id) as is_on_cycle,
        bool_or(is_cycle) as has_cycle_upstream
    from ancestry
    group by contract_id
),

root_customers as (
    select
        contract_id,
        count(distinct customer_id) as root_customer_count,
        array_agg(distinct customer_id order by customer_id) as root_customer_ids,
        min(customer_id) as only_customer_id
    from roots
    group by contract_id
),

final as (
    select
        contracts.contract_id,
        contracts.account_id,
        case
            when root_customers.root_customer_count = 1 and not cycles.has_cycle_upstream
                then root_customers.only_customer_id
        end as customer_id,
        coalesce(root_customers.root_customer_count, 0) as root_customer_count,
        coalesce(root_customers.root_customer_ids, '{}') as root_customer_ids,
        cycles.is_on_cycle,
        cycles.has_cycle_upstream,
        overrides.contract_id is not null as is_overridden,
        overrides.reason as override_reason,
        overrides.approver as override_approver
    from contracts
    inner join cycles
        on cycles.contract_id = contracts.contract_id
    left join root_customers
        on root_customers.contract_id = contracts.contract_id
    left join overrides
        on overrides.contract_id = contracts.contract_id
)

select * from final
