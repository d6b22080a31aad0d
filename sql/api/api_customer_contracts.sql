-- The contracts of one customer: its renewal chain and any override, as
-- certified with the latest publication.
-- Grain: one row per contract of the customer.
with contracts as (
    select *
    from viz.customer_contract
),

final as (
    select *
    from contracts
    where customer_id = %(customer_id)s::text
    order by start_date nulls last, contract_id
)

select * from final
