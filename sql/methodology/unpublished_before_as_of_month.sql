-- The customers with no published month before the as-of month. When only the
-- as-of month is rebuilt, these alone may gain or lose a published month, and
-- with it their lines and contracts in the detail (revcert.methodology.mart).
-- Grain: one row per customer.
select customer_id
from mart.mart_customer
except
select customer_id
from mart.mart_customer_month
where month < %(rebuilt_month)s
