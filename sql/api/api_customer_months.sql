-- One customer's certified months, its timeline.
-- Grain: one row per month of the customer with MRR or revenue.
with customer_months as (
    select *
    from viz.customer_month
),

final as (
    select *
    from customer_months
    where customer_id = %(customer_id)s::text
    order by month
)

select * from final
