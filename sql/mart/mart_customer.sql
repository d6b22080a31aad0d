-- mart_customer: every customer, with its business unit as its account says
-- now (empty: UNASSIGNED), so history is restated when the field changes.
-- Grain: one row per customer (the root account of its chains).
with contract_customers as (
    select distinct customer_id
    from mart.mart_contract_customer
    where customer_id is not null
),

accounts as (
    select
        account_id,
        account_name,
        business_unit
    from staging.stg_account
    where not is_deleted
),

final as (
    select
        contract_customers.customer_id,
        accounts.account_name as customer_name,
        coalesce(nullif(btrim(accounts.business_unit), ''), 'UNASSIGNED') as business_unit,
        accounts.account_id is not null as is_account_live
    from contract_customers
    left join accounts
        on contract_customers.customer_id = accounts.account_id
)

select * from final
