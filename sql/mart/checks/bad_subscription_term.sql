-- Recurring lines whose product's subscription term is zero or negative.
select
    subscription_line_id as record_id,
    format('product %s has SBQQ__SubscriptionTerm__c %s', product_id, subscription_term_months) as detail
from mart.mart_subscription_line
where is_recurring
    and subscription_term_months <= 0
order by subscription_line_id
