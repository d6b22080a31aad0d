-- The production figures a shop's shadows are compared with: its days in this run's scope.
-- Grain: one row per shop-day in scope.
with scope as (
    select day
    from mart.mart_shop_day_scope
    where shop_id = %(shop_id)s
)

select
    day,
    gross_revenue,
    refunds,
    net_revenue,
    refund_count
from mart.mart_shop_day
where
    shop_id = %(shop_id)s
    and day in (select scope.day from scope)
