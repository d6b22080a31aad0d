-- Recurring lines without a net price or a quantity.
select
    subscription_line_id as record_id,
    format(
        'SBQQ__NetPrice__c %s, SBQQ__Quantity__c %s', coalesce(net_price::text, 'missing'),
        coalesce(quantity::text, 'missing')
    ) as detail
from mart.mart_subscription_line
where is_recurring
    and (net_price is null or quantity is null)
order by subscription_line_id
