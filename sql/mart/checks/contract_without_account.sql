-- Contracts whose customer account (the root of the chain, or an override's
-- account) is missing or deleted.
select
    contract_customer.contract_id as record_id,
    format('customer account %s', contract_customer.customer_id) as detail
from mart.mart_contract_customer as contract_customer
inner join mart.mart_customer as customer
    on contract_customer.customer_id = customer.customer_id
where not customer.is_account_live
order by contract_customer.contract_id
