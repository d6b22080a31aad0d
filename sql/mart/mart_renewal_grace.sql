-- mart_renewal_grace: the renewal grace of each contract that has a successor
-- (METHODOLOGY.md A3). A contract's service runs from the earliest start to the
-- latest end of its recurring lines. When its earliest successor starts g days
-- after it ends (g days strictly between), with 1 <= g <= G, its lines that run
-- to its service end count through those g days, for MRR only: a late renewal
-- is then an expansion or contraction, not a churn followed by a winback.
-- Rebuilt: the contracts in scope (revcert.methodology.mart), or every contract;
-- a contract's grace reads its own lines and its successors'.
-- Grain: one row per contract with recurring service.
with scope as (
    select contract_id
    from mart.mart_contract_scope
),

links as (
    select
        predecessor_contract_id,
        successor_contract_id
    from mart.mart_renewal_link
),

contracts_read as (
    select scope.contract_id
    from scope
    union
    select links.successor_contract_id
    from links
    inner join scope
        on links.predecessor_contract_id = scope.contract_id
),

recurring_lines as (
    select
        contract_id,
        service_start_date,
        service_end_date
    from mart.mart_subscription_line
    where
        line_mrr is not null
        and (%(whole)s or contract_id in (select contracts_read.contract_id from contracts_read))
),

contract_service as (
    select
        contract_id,
        min(service_start_date) as service_start_date,
        max(service_end_date) as service_end_date
    from recurring_lines
    group by contract_id
),

successors as (
    select
        links.predecessor_contract_id,
        links.successor_contract_id,
        successor.service_start_date as successor_start_date,
        row_number() over (
            partition by links.predecessor_contract_id
            order by successor.service_start_date, links.successor_contract_id
        ) as successor_rank
    from links
    inner join contract_service as successor
        on links.successor_contract_id = successor.contract_id
),

earliest_successor as (
    select
        predecessor_contract_id,
        successor_contract_id,
        successor_start_date
    from successors
    where successor_rank = 1
),

final as (
    select
        contract_service.contract_id,
        contract_service.service_start_date,
        contract_service.service_end_date,
        earliest_successor.successor_contract_id,
        earliest_successor.successor_start_date - contract_service.service_end_date - 1 as gap_days,
        case
            when earliest_successor.successor_start_date - contract_service.service_end_date - 1
                between 1 and %(renewal_grace_days)s
                then earliest_successor.successor_start_date - contract_service.service_end_date - 1
            else 0
        end as grace_days
    from contract_service
    left join earliest_successor
        on contract_service.contract_id = earliest_successor.predecessor_contract_id
    where %(whole)s or contract_service.contract_id in (select scope.contract_id from scope)
)

select * from final
