-- Contracts whose renewal chain passes through a cycle further up.
select
    contract_id as record_id,
    format('account %s', account_id) as detail
from mart.mart_contract_customer
where has_cycle_upstream
    and not is_on_cycle
order by contract_id
