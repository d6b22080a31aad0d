-- Lines whose product is missing or deleted: nothing says whether they recur.
select
    subscription_line_id as record_id,
    format('SBQQ__Product__c %s', coalesce(product_id, 'empty')) as detail
from mart.mart_subscription_line
where is_recurring is null
order by subscription_line_id
