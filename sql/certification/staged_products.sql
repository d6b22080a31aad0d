-- The independent derivation's products, read from staging directly.
-- Grain: one row per live product.
select
    product_id,
    charge_type,
    subscription_term_months,
    product_name
from staging.stg_product
where not is_deleted
