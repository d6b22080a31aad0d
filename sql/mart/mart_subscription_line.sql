-- mart_subscription_line: every live CPQ subscription line with its service
-- period and its line MRR (METHODOLOGY.md A2).
--   service start = the line's start, else the contract's
--   service end   = the line's end, else the contract's; with a terminated
--                   date, the earlier of that and the day before it
--   line MRR      = round_half_even(NetPrice x Quantity / (P x T) / R, 2),
--                   the quotient carried to 40 decimal places first
--   R             = the dated rate of the line's currency in force at service
--                   start (1 for the reporting currency), fixed for life
-- line_mrr is null where a rule cannot be applied; the checks name those lines.
-- Rebuilt: the lines in scope (revcert.methodology.mart), or every line.
-- Grain: one row per live subscription line.
with scope as (
    select subscription_line_id
    from mart.mart_line_scope
),

lines as (
    select
        subscription_line_id,
        contract_id,
        product_id,
        currency_iso_code,
        quantity,
        net_price,
        prorate_multiplier,
        start_date,
        end_date,
        terminated_date
    from staging.stg_subscription_line
    where
        not is_deleted
        and (%(whole)s or subscription_line_id in (select scope.subscription_line_id from scope))
),

contracts as (
    select
        contract_id,
        start_date,
        end_date
    from staging.stg_contract
    where not is_deleted
),

products as (
    select
        product_id,
        charge_type,
        subscription_term_months
    from staging.stg_product
    where not is_deleted
),

dated_rates as (
    select
        iso_code,
        conversion_rate,
        start_date,
        coalesce(next_start_date, 'infinity'::date) as next_start_date
    from mart.mart_dated_conversion_rate
),

reporting_currency as (
    select iso_code
    from mart.mart_reporting_currency
),

periods as (
    select
        lines.*,
        contracts.contract_id is not null as has_contract,
        products.product_id is not null as has_product,
        products.charge_type is null or products.charge_type = 'Recurring' as is_recurring,
        coalesce(products.subscription_term_months, 12) as subscription_term_months,
        coalesce(lines.prorate_multiplier, 1) as effective_prorate_multiplier,
        coalesce(lines.start_date, contracts.start_date) as service_start_date,
        coalesce(lines.end_date, contracts.end_date) as scheduled_end_date
    from lines
    left join contracts
        on lines.contract_id = contracts.contract_id
    left join products
        on lines.product_id = products.product_id
),

terminated as (
    select
        periods.*,
        case
            when periods.terminated_date is not null then least(periods.scheduled_end_date, periods.terminated_date - 1)
            else periods.scheduled_end_date
        end as service_end_date
    from periods
),

-- The rate in force is found once per currency and start date rather than per
-- line: lines share both, and each lookup tries every rate of its currency.
line_start_days as (
    select distinct
        currency_iso_code,
        service_start_date
    from terminated
),

rates_in_force as (
    select
        line_start_days.currency_iso_code,
        line_start_days.service_start_date,
        dated_rates.conversion_rate
    from line_start_days
    inner join dated_rates
        on line_start_days.currency_iso_code = dated_rates.iso_code
            and line_start_days.service_start_date >= dated_rates.start_date
            and line_start_days.service_start_date < dated_rates.next_start_date
),

rated as (
    select
        terminated.*,
        -- A termination before the start leaves a line with nothing to carry; any other end before start is an error.
        terminated.service_end_date < terminated.service_start_date
        and terminated.scheduled_end_date >= terminated.service_start_date as is_zero_length,
        case
            when terminated.currency_iso_code = reporting_currency.iso_code then 1::numeric
            else rates_in_force.conversion_rate
        end as conversion_rate
    from terminated
    cross join reporting_currency
    left join rates_in_force
        on terminated.currency_iso_code = rates_in_force.currency_iso_code
            and terminated.service_start_date = rates_in_force.service_start_date
),

final as (
    select
        -- ids
        subscription_line_id,
        contract_id,
        product_id,
        -- attributes
        currency_iso_code,
        case when has_product then is_recurring end as is_recurring,
        has_contract,
        -- amounts
        quantity,
        net_price,
        effective_prorate_multiplier as prorate_multiplier,
        subscription_term_months,
        conversion_rate,
        -- dates
        service_start_date,
        scheduled_end_date,
        service_end_date,
        terminated_date,
        is_zero_length,
        case
            when has_product and is_recurring and has_contract
                and not is_zero_length
                and service_end_date >= service_start_date
                and net_price is not null and quantity is not null
                and effective_prorate_multiplier > 0 and subscription_term_months > 0 and conversion_rate > 0
                then mart.round_half_even(
                        (net_price * quantity)::numeric(1000, 40)
                        / (effective_prorate_multiplier * subscription_term_months * conversion_rate),
                        2
                    )
        end as line_mrr
    from rated
)

select * from final
