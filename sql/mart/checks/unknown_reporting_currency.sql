-- An org whose reporting currency cannot be told: no corporate currency while
-- the lines carry several currencies, or several corporate currencies.
with corporate_currencies as (
    select string_agg(distinct iso_code, ', ' order by iso_code) as iso_codes
    from staging.stg_currency_type
    where is_corporate
)

select
    'CurrencyType' as record_id,
    case
        when reporting_currency.source = 'unknown'
            then 'no corporate currency (CurrencyType.IsCorporate), and the lines carry several currencies'
        else format('several corporate currencies (CurrencyType.IsCorporate): %s', corporate_currencies.iso_codes)
    end as detail
from mart.mart_reporting_currency as reporting_currency
cross join corporate_currencies
where reporting_currency.source in ('unknown', 'ambiguous')
