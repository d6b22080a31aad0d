-- mart_reporting_currency: the currency every figure is reported in: the org's
-- corporate currency; an org without currency records reports in the one
-- currency its lines carry; otherwise unknown, and several corporate
-- currencies are ambiguous (a check fails the run for either).
-- Grain: one row.
with corporate_currency as (
    select
        min(iso_code) as iso_code,
        count(distinct iso_code) as currency_count
    from staging.stg_currency_type
    where is_corporate
),

line_currencies as (
    select
        min(currency_iso_code) as iso_code,
        count(distinct currency_iso_code) as currency_count
    from staging.stg_subscription_line
    where not is_deleted
),

final as (
    select
        case
            when corporate_currency.currency_count = 1 then corporate_currency.iso_code
            when corporate_currency.currency_count > 1 then null
            when line_currencies.currency_count = 1 then line_currencies.iso_code
        end as iso_code,
        case
            when corporate_currency.currency_count = 1 then 'corporate'
            when corporate_currency.currency_count > 1 then 'ambiguous'
            when line_currencies.currency_count = 1 then 'only_currency'
            else 'unknown'
        end as source
    from corporate_currency
    cross join line_currencies
)

select * from final
