-- Before a shop's mart is rebuilt: its shop row and its scope go (both are derived again first); its
-- orders, refunds and days go only where the new scope says (shop_orders_in_scope_cleared,
-- shop_days_in_scope_cleared): the rest keep what was computed before.
-- Grain: the shop's row and scope.
with removed_shop as (
    delete from mart.mart_shop
    where shop_id = %(shop_id)s
)

delete from mart.mart_shop_day_scope
where shop_id = %(shop_id)s
