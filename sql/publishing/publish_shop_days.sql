-- Copy a shop's certified days (this run's scope) from the mart into viz.shop_daily_revenue (SPEC.md,
-- published contract), each stamped with the shop's certification, and nothing unless it passed.
-- Grain: one row per shop and local day.
with certification as (
    select
        certification_id,
        certified_at
    from certification.certification_run
    where
        certification_id = %(certification_id)s
        and status = 'certified'
),

days as (
    select
        figures.shop_id,
        figures.day,
        figures.currency,
        figures.gross_revenue,
        figures.refunds,
        figures.net_revenue,
        figures.order_count,
        figures.refund_count
    from mart.mart_shop_day as figures
    inner join mart.mart_shop_day_scope as scope
        on
            figures.shop_id = scope.shop_id
            and figures.day = scope.day
    where figures.shop_id = %(shop_id)s
)

insert into viz.shop_daily_revenue (
    shop_id,
    day,
    currency,
    gross_revenue,
    refunds,
    net_revenue,
    order_count,
    refund_count,
    certification_id,
    certified_at
)
select
    days.shop_id,
    days.day,
    days.currency,
    days.gross_revenue,
    days.refunds,
    days.net_revenue,
    days.order_count,
    days.refund_count,
    certification.certification_id,
    certification.certified_at
from days
cross join certification
