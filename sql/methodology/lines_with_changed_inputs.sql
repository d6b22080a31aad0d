-- The subscription lines whose inputs changed since the last build: every line
-- a batch staged since then (edited, added or deleted), every line of a
-- contract or product such a batch staged, and every line that starts within
-- the period of a dated rate that is new, gone or changed since the last build
-- (revcert.methodology.mart). Rates are read whole on every extraction, so
-- they are compared by content, as text (a line's rate is digested as text);
-- a new month's rate changes only the lines starting within the period it
-- ends.
-- Grain: one row per subscription line.
with new_batches as (
    select batch_id
    from pg_temp.new_staged_batch
),

changed_contracts as (
    select contract_id
    from staging.stg_contract
    where batch_id in (select new_batches.batch_id from new_batches)
),

changed_products as (
    select product_id
    from staging.stg_product
    where batch_id in (select new_batches.batch_id from new_batches)
),

current_rates as (
    select
        iso_code,
        conversion_rate::text as conversion_rate,
        start_date,
        next_start_date
    from mart.mart_dated_conversion_rate
),

previous_rates as (
    select
        iso_code,
        conversion_rate::text as conversion_rate,
        start_date,
        next_start_date
    from pg_temp.previous_mart_dated_conversion_rate
),

changed_rates as (
    (
        select * from current_rates
        except
        select * from previous_rates
    )
    union all
    (
        select * from previous_rates
        except
        select * from current_rates
    )
),

lines_reached_by_new_batches as (
    select subscription_line_id
    from staging.stg_subscription_line
    where
        batch_id in (select new_batches.batch_id from new_batches)
        or contract_id in (select changed_contracts.contract_id from changed_contracts)
        or product_id in (select changed_products.product_id from changed_products)
),

lines_converted_again as (
    select lines.subscription_line_id
    from mart.mart_subscription_line as lines
    inner join changed_rates
        on
            lines.currency_iso_code = changed_rates.iso_code
            and lines.service_start_date >= changed_rates.start_date
            and lines.service_start_date < coalesce(changed_rates.next_start_date, 'infinity'::date)
)

select subscription_line_id
from lines_reached_by_new_batches
union
select subscription_line_id
from lines_converted_again
