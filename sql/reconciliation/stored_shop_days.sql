-- The published figures of one shop's days that a reconciliation compares with the source (B5).
-- Grain: one row per published shop-day in the range.
select
    day,
    net_revenue,
    certification_id
from viz.shop_daily_revenue
where
    shop_id = %(shop_id)s
    and day between %(from_day)s and %(to_day)s
