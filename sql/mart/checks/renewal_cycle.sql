-- Contracts that renew themselves through a cycle of renewal links.
select
    contract_id as record_id,
    format('account %s', account_id) as detail
from mart.mart_contract_customer
where is_on_cycle
order by contract_id
