-- Control sums of the staged live subscription lines, named by the API field
-- they add up, to compare with the source's SUM() taken at extraction time.
-- Grain: one row.
with live_lines as (
    select
        quantity,
        net_price
    from staging.stg_subscription_line
    where not is_deleted
),

final as (
    select
        coalesce(sum(quantity), 0) as "SBQQ__Quantity__c",
        coalesce(sum(net_price), 0) as "SBQQ__NetPrice__c"
    from live_lines
)

select * from final
