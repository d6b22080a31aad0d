-- Contracts whose predecessors belong to different customers.
select
    contract_id as record_id,
    format('predecessors belong to customers %s', array_to_string(root_customer_ids, ', ')) as detail
from mart.mart_contract_customer
where root_customer_count > 1
    and not has_cycle_upstream
order by contract_id
