-- Before a shop's recomputed days are published, the ones shown for those days go.
-- Grain: the shop's published days in this run's scope.
delete from viz.shop_daily_revenue as shown
using mart.mart_shop_day_scope as scope
where
    shown.shop_id = %(shop_id)s
    and scope.shop_id = shown.shop_id
    and scope.day = shown.day
