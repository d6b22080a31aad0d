-- An org without a corporate currency whose lines carry several currencies.
select
    'CurrencyType' as record_id,
    'no corporate currency (CurrencyType.IsCorporate), and the lines carry several currencies' as detail
from mart.mart_reporting_currency
where source = 'unknown'
