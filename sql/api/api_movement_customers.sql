-- The customers behind a figure of the certified bridge: every customer-month
-- of a month, of one business unit or all, of one movement, any movement
-- (net new MRR) or all, active ones only (ending MRR > 0) or all. Their sums
-- are the bridge's figures (certification check detail_sums).
-- Grain: one row per customer in the month.
with customer_months as (
    select *
    from viz.customer_month
),

final as (
    select *
    from customer_months
    where
        month = %(month)s::date
        and (%(business_unit)s::text is null or business_unit = %(business_unit)s::text)
        and (
            %(movement)s::text is null
            or movement_type = %(movement)s::text
            or (%(movement)s::text = 'any' and movement_type <> 'none')
        )
        and (not %(active)s::boolean or ending_mrr > 0)
    order by abs(movement_amount) desc, ending_mrr desc, customer_id asc
)

select * from final
