-- Before a shop's recomputed days are published, the ones shown for those days go; when the shop was
-- recomputed whole, so do any shown before its first day (its days may have moved with its timezone).
-- Grain: the shop's published days in this run's scope.
delete from viz.shop_daily_revenue as shown
using mart.mart_shop as shop
where
    shown.shop_id = %(shop_id)s
    and shop.shop_id = shown.shop_id
    and (
        shown.day in (
            select scope.day
            from mart.mart_shop_day_scope as scope
            where scope.shop_id = shop.shop_id
        )
        or (shop.is_recomputed_whole and shown.day < shop.first_order_day)
    )
