-- The published months a restatement withdraws: those later than its own
-- as-of month (published by mistake, e.g. by a run with a future as-of date).
-- Grain: one row per month.
with certification as (
    select date_trunc('month', as_of_date)::date as as_of_month
    from certification.certification_run
    where certification_id = %(certification_id)s
),

shown as (
    select month
    from viz.mrr_bridge_total
)

select shown.month
from shown
cross join certification
where shown.month > certification.as_of_month
order by shown.month
