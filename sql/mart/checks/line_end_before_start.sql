-- Recurring lines whose service ends before it starts, where no termination caused it.
select
    subscription_line_id as record_id,
    format('service %s..%s (contract %s)', service_start_date, service_end_date, contract_id) as detail
from mart.mart_subscription_line
where is_recurring
    and service_end_date < service_start_date
    and not is_zero_length
order by subscription_line_id
