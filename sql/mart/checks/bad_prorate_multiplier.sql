-- Recurring lines whose prorate multiplier is zero or negative.
select
    subscription_line_id as record_id,
    format('SBQQ__ProrateMultiplier__c %s', prorate_multiplier) as detail
from mart.mart_subscription_line
where is_recurring
    and prorate_multiplier <= 0
order by subscription_line_id
