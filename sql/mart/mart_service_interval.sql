-- mart_service_interval: the recurring lines that carry MRR, as service
-- intervals of their customer. service_* is real service (revenue);
-- mrr_end_date adds the renewal grace to lines that run to their contract's
-- service end (MRR only). Lines are never exploded into days.
-- Rebuilt: the lines in scope and the lines of the contracts in scope, whose
-- grace or customer may have changed (revcert.methodology.mart), or every line.
-- Grain: one row per recurring line with a line MRR and a customer.
with line_scope as (
    select subscription_line_id
    from mart.mart_line_scope
),

contract_scope as (
    select contract_id
    from mart.mart_contract_scope
),

lines as (
    select
        subscription_line_id,
        contract_id,
        line_mrr,
        service_start_date,
        service_end_date
    from mart.mart_subscription_line
    where
        line_mrr is not null
        and (
            %(whole)s
            or subscription_line_id in (select line_scope.subscription_line_id from line_scope)
            or contract_id in (select contract_scope.contract_id from contract_scope)
        )
),

contract_customers as (
    select
        contract_id,
        customer_id
    from mart.mart_contract_customer
    where customer_id is not null
),

grace as (
    select
        contract_id,
        service_end_date as contract_service_end_date,
        grace_days
    from mart.mart_renewal_grace
),

final as (
    select
        lines.subscription_line_id,
        lines.contract_id,
        contract_customers.customer_id,
        lines.line_mrr,
        lines.service_start_date,
        lines.service_end_date,
        case
            when lines.service_end_date = grace.contract_service_end_date
                then lines.service_end_date + grace.grace_days
            else lines.service_end_date
        end as mrr_end_date
    from lines
    inner join contract_customers
        on lines.contract_id = contract_customers.contract_id
    inner join grace
        on lines.contract_id = grace.contract_id
)

select * from final
