-- The customers whose inputs changed since the last build: a digest that
-- differs, a customer that is new, and one that is gone (its rows go with it).
-- Grain: one row per customer.
select coalesce(current_input.customer_id, previous_input.customer_id) as customer_id
from mart.mart_customer_input as current_input
full join pg_temp.previous_mart_customer_input as previous_input
    on current_input.customer_id = previous_input.customer_id
where current_input.input_digest is distinct from previous_input.input_digest
