-- Recurring lines with service and no positive dated conversion rate for their
-- currency at their service start.
select
    subscription_line_id as record_id,
    format('currency %s at %s', coalesce(currency_iso_code, 'missing'), service_start_date) as detail
from mart.mart_subscription_line
where is_recurring
    and has_contract
    and not is_zero_length
    and service_end_date >= service_start_date
    and (conversion_rate is null or conversion_rate <= 0)
    and exists (
        select 1 from mart.mart_reporting_currency as reporting_currency
        where reporting_currency.iso_code is not null
    )
order by subscription_line_id
