-- stg_order: typed current state of a shop's orders (METHODOLOGY.md Part B). Money stays exact numeric,
-- as the API's decimal strings say it.
-- Grain: one row per order; merges one extraction batch; a version never replaces a newer one.
with batch_records as (
    select distinct on (record_id)
        batch_id,
        shop_id,
        record_id,
        updated_at,
        record
    from raw.shopify_record
    where
        batch_id = %(batch_id)s
        and object_name = 'Order'
    order by record_id asc, updated_at desc
),

typed as (
    select
        -- ids
        record_id as order_id,
        shop_id,
        record ->> 'id' as order_gid,
        -- attributes
        record ->> 'name' as order_name,
        coalesce((record ->> 'test')::boolean, false) as is_test,
        record ->> 'currencyCode' as currency_code,
        record ->> 'presentmentCurrencyCode' as presentment_currency_code,
        -- amounts
        (record #>> '{totalPriceSet,shopMoney,amount}')::numeric as shop_total,
        record #>> '{totalPriceSet,shopMoney,currencyCode}' as shop_total_currency,
        (record #>> '{totalPriceSet,presentmentMoney,amount}')::numeric as presentment_total,
        record #>> '{totalPriceSet,presentmentMoney,currencyCode}' as presentment_total_currency,
        -- dates
        (record ->> 'createdAt')::timestamptz as created_at,
        (record ->> 'processedAt')::timestamptz as processed_at,
        (record ->> 'cancelledAt')::timestamptz as cancelled_at,
        updated_at,
        -- metadata
        batch_id
    from batch_records
)

insert into staging.stg_order as current_state (
    order_id,
    shop_id,
    order_gid,
    order_name,
    is_test,
    currency_code,
    presentment_currency_code,
    shop_total,
    shop_total_currency,
    presentment_total,
    presentment_total_currency,
    created_at,
    processed_at,
    cancelled_at,
    updated_at,
    batch_id
)
select
    order_id,
    shop_id,
    order_gid,
    order_name,
    is_test,
    currency_code,
    presentment_currency_code,
    shop_total,
    shop_total_currency,
    presentment_total,
    presentment_total_currency,
    created_at,
    processed_at,
    cancelled_at,
    updated_at,
    batch_id
from typed
on conflict (order_id) do update set
    shop_id = excluded.shop_id,
    order_gid = excluded.order_gid,
    order_name = excluded.order_name,
    is_test = excluded.is_test,
    currency_code = excluded.currency_code,
    presentment_currency_code = excluded.presentment_currency_code,
    shop_total = excluded.shop_total,
    shop_total_currency = excluded.shop_total_currency,
    presentment_total = excluded.presentment_total,
    presentment_total_currency = excluded.presentment_total_currency,
    created_at = excluded.created_at,
    processed_at = excluded.processed_at,
    cancelled_at = excluded.cancelled_at,
    updated_at = excluded.updated_at,
    batch_id = excluded.batch_id
where excluded.updated_at >= current_state.updated_at
