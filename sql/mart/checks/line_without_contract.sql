-- Recurring lines whose contract is missing or deleted.
select
    subscription_line_id as record_id,
    format('SBQQ__Contract__c %s', coalesce(contract_id, 'empty')) as detail
from mart.mart_subscription_line
where is_recurring
    and not has_contract
order by subscription_line_id
