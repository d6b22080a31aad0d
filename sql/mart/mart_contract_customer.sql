-- mart_contract_customer: the customer of every contract (METHODOLOGY.md A3).
-- The customer is the account of the root of the contract's renewal chain, so
-- a renewal booked on another account stays with the original customer. A
-- contract with a classification override is a root of its own: its row names
-- the customer, for it and for every renewal below it. A contract on a cycle
-- of links, below one, or whose roots belong to different customers gets no
-- customer (customer_id is null): the checks fail the run on it.
--
-- Cost: the walk goes down the chains from their roots, each contract and
-- customer once, so a chain costs its length. Cycles can only hide where that
-- walk is blind (contracts it never reaches, and contracts entered by more
-- than one link); only those are walked up with their paths to find them.
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

predecessor_counts as (
    select
        successor_contract_id as contract_id,
        count(*) as predecessor_count
    from links
    group by successor_contract_id
),

chain_roots as (
    select
        contracts.contract_id,
        coalesce(overrides.customer_account_id, contracts.account_id) as customer_id
    from contracts
    left join overrides
        on contracts.contract_id = overrides.contract_id
    left join predecessor_counts
        on contracts.contract_id = predecessor_counts.contract_id
    where
        overrides.contract_id is not null
        or predecessor_counts.contract_id is null
),

reached (contract_id, customer_id) as (
    select
        contract_id,
        customer_id
    from chain_roots
    union
    select
        links.successor_contract_id,
        reached.customer_id
    from reached
    inner join links
        on reached.contract_id = links.predecessor_contract_id
    where not exists (
            select 1 from overrides
            where overrides.contract_id = links.successor_contract_id
        )
),

reached_contracts as (
    select distinct contract_id
    from reached
),

-- A join, not `not exists` inside the `or`: there PostgreSQL rescans the whole
-- walk once per contract (quadratic: 140 s at 60,000 contracts, 0.6 s joined).
blind_spots as (
    select contracts.contract_id
    from contracts
    left join predecessor_counts
        on contracts.contract_id = predecessor_counts.contract_id
    left join reached_contracts
        on contracts.contract_id = reached_contracts.contract_id
    where
        not exists (
            select 1 from overrides
            where overrides.contract_id = contracts.contract_id
        )
        and (
            predecessor_counts.predecessor_count > 1
            or reached_contracts.contract_id is null
        )
),

ancestry (contract_id, path, is_cycle) as (
    select
        contract_id,
        array[contract_id],
        false
    from blind_spots
    union all
    select
        links.predecessor_contract_id,
        ancestry.path || links.predecessor_contract_id,
        links.predecessor_contract_id = any(ancestry.path)
    from ancestry
    inner join links
        on ancestry.contract_id = links.successor_contract_id
    where
        not ancestry.is_cycle
        and not exists (
            select 1 from overrides
            where overrides.contract_id = ancestry.contract_id
        )
),

cycle_members as (
    select distinct unnest(path[array_position(path, contract_id):]) as contract_id
    from ancestry
    where is_cycle
),

below_cycles (contract_id) as (
    select contract_id
    from cycle_members
    union
    select links.successor_contract_id
    from below_cycles
    inner join links
        on below_cycles.contract_id = links.predecessor_contract_id
    where not exists (
            select 1 from overrides
            where overrides.contract_id = links.successor_contract_id
        )
),

root_customers as (
    select
        contract_id,
        count(distinct customer_id) as root_customer_count,
        array_agg(distinct customer_id order by customer_id) as root_customer_ids,
        min(customer_id) as only_customer_id
    from reached
    group by contract_id
),

final as (
    select
        contracts.contract_id,
        contracts.account_id,
        case
            when root_customers.root_customer_count = 1 and below_cycles.contract_id is null
                then root_customers.only_customer_id
        end as customer_id,
        coalesce(root_customers.root_customer_count, 0) as root_customer_count,
        coalesce(root_customers.root_customer_ids, '{}') as root_customer_ids,
        cycle_members.contract_id is not null as is_on_cycle,
        below_cycles.contract_id is not null as has_cycle_upstream,
        overrides.contract_id is not null as is_overridden,
        overrides.reason as override_reason,
        overrides.approver as override_approver
    from contracts
    left join root_customers
        on contracts.contract_id = root_customers.contract_id
    left join cycle_members
        on contracts.contract_id = cycle_members.contract_id
    left join below_cycles
        on contracts.contract_id = below_cycles.contract_id
    left join overrides
        on contracts.contract_id = overrides.contract_id
)

select * from final
