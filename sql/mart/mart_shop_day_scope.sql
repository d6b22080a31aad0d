-- mart_shop_day_scope: the days of a shop this run recomputes whole (METHODOLOGY.md B4): every local
-- day an order changed since the shop's figures were last published touches (its order date, and for
-- a refund-date shop its refunds' dates), every day after the last one published through the as-of
-- date, and a requested range; all of the shop's days when the shop is recomputed whole (mart_shop
-- says when). Never a day after the as-of date (a later local day is still in progress somewhere).
-- Grain: one row per shop and local day (built for one shop at a time).
with shop as (
    select
        shop_id,
        iana_timezone,
        refund_attribution,
        first_order_day,
        is_recomputed_whole
    from mart.mart_shop
    where
        shop_id = %(shop_id)s
        and is_timezone_known
        and first_order_day is not null
),

published_shop as (
    select certification_id
    from viz.shop
    where shop_id = %(shop_id)s
),

published_batch as (
    select run.extraction_batch_id as batch_id
    from certification.certification_run as run
    where run.certification_id = (select published_shop.certification_id from published_shop)
),

published_days as (
    select max(day) as last_day
    from viz.shop_daily_revenue
    where shop_id = %(shop_id)s
),

changed_orders as (
    select
        orders.order_id,
        orders.created_at
    from staging.stg_order as orders
    where
        orders.shop_id = %(shop_id)s
        and orders.batch_id > coalesce((select published_batch.batch_id from published_batch), 0)
),

changed_days as (
    select (changed_orders.created_at at time zone shop.iana_timezone)::date as day
    from changed_orders
    cross join shop
    union
    select (refunds.created_at at time zone shop.iana_timezone)::date as day
    from staging.stg_refund as refunds
    inner join changed_orders
        on refunds.order_id = changed_orders.order_id
    cross join shop
    where
        refunds.shop_id = %(shop_id)s
        and shop.refund_attribution = 'refund_date'
),

series_days as (
    select day::date as day
    from shop
    cross join published_days
    cross join
        generate_series(
            case
                when shop.is_recomputed_whole then shop.first_order_day
                else greatest(coalesce(published_days.last_day + 1, shop.first_order_day), shop.first_order_day)
            end,
            %(as_of_date)s::date,
            interval '1 day'
        ) as day
    union
    select day::date as day
    from generate_series(%(from_day)s::date, %(to_day)s::date, interval '1 day') as day
),

final as (
    select distinct
        shop.shop_id,
        days.day
    from (
        select changed_days.day from changed_days
        union
        select series_days.day from series_days
    ) as days
    cross join shop
    where days.day between shop.first_order_day and %(as_of_date)s::date
)

select * from final
