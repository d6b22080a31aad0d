-- The days of a shop this run recomputes go from the mart before they are written again whole.
-- Grain: the shop's days in scope.
delete from mart.mart_shop_day as days
using mart.mart_shop_day_scope as scope
where
    days.shop_id = %(shop_id)s
    and scope.shop_id = days.shop_id
    and scope.day = days.day
