-- mart_renewal_link: which contract renews which (METHODOLOGY.md A3).
-- C2 renews C1 when C2's opportunity names C1 as the contract it renews, or
-- when C1's renewal opportunity is C2's opportunity. Links to contracts that
-- are not live are ignored.
-- Grain: one row per predecessor and successor contract.
with contracts as (
    select
        contract_id,
        opportunity_id,
        renewal_opportunity_id
    from staging.stg_contract
    where not is_deleted
),

opportunities as (
    select
        opportunity_id,
        renewed_contract_id
    from staging.stg_opportunity
    where not is_deleted
),

linked_by_opportunity as (
    select
        opportunities.renewed_contract_id as predecessor_contract_id,
        successor.contract_id as successor_contract_id
    from contracts as successor
    inner join opportunities
        on successor.opportunity_id = opportunities.opportunity_id
    where opportunities.renewed_contract_id is not null
),

linked_by_contract as (
    select
        predecessor.contract_id as predecessor_contract_id,
        successor.contract_id as successor_contract_id
    from contracts as predecessor
    inner join contracts as successor
        on predecessor.renewal_opportunity_id = successor.opportunity_id
),

all_links as (
    select
        predecessor_contract_id,
        successor_contract_id,
        true as is_linked_by_opportunity,
        false as is_linked_by_contract
    from linked_by_opportunity
    union all
    select
        predecessor_contract_id,
        successor_contract_id,
        false as is_linked_by_opportunity,
        true as is_linked_by_contract
    from linked_by_contract
),

final as (
    select
        all_links.predecessor_contract_id,
        all_links.successor_contract_id,
        bool_or(all_links.is_linked_by_opportunity) as is_linked_by_opportunity,
        bool_or(all_links.is_linked_by_contract) as is_linked_by_contract
    from all_links
    inner join contracts as predecessor
        on all_links.predecessor_contract_id = predecessor.contract_id
    group by all_links.predecessor_contract_id, all_links.successor_contract_id
)

select * from final
