-- The lines that carry one customer's MRR, as certified with the latest
-- publication.
-- Grain: one row per line of the customer.
with lines as (
    select *
    from viz.customer_line
),

final as (
    select *
    from lines
    where customer_id = %(customer_id)s::text
    order by service_start_date, contract_id, subscription_line_id
)

select * from final
