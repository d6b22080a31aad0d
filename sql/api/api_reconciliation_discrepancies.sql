-- Shop-days a reconciliation found apart from the source: the open ones (no later reconciliation found
-- them equal again), or all; one shop or every shop. Newest first.
-- Grain: one row per discrepancy found (a shop-day found apart twice is two rows).
select
    reconciliation_run_id,
    run_id,
    shop_id,
    day,
    currency,
    source_net_revenue,
    stored_net_revenue,
    stored_certification_id,
    difference,
    relative_difference,
    differing_order_ids,
    repair_run_id,
    repair_requested_at,
    closed_by_reconciliation_run_id,
    is_open,
    found_at
from viz.reconciliation_discrepancy
where
    (not %(open_only)s or is_open)
    and (%(shop_id)s::text is null or shop_id = %(shop_id)s)
order by reconciliation_run_id desc, shop_id asc, day asc
limit %(limit)s
