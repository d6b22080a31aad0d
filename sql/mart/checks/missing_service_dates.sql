-- Recurring lines without a start or end date, on the line or on its contract.
select
    subscription_line_id as record_id,
    format(
        'service %s..%s (contract %s)', coalesce(service_start_date::text, '?'),
        coalesce(service_end_date::text, '?'), contract_id
    ) as detail
from mart.mart_subscription_line
where is_recurring
    and has_contract
    and (service_start_date is null or service_end_date is null)
order by subscription_line_id
