-- The months a certified run replaces in viz: those whose incoming snapshot
-- date is not earlier than the one shown (or that are not shown yet), so a
-- backfill never replaces a complete month with a partial one; a restatement
-- replaces every month it certified. Nothing is replaced unless the
-- certification exists and passed.
-- Grain: one row per month.
with incoming as (
    select
        month,
        snapshot_date
    from mart.mart_mrr_bridge_total
),

certification as (
    select certification_id
    from certification.certification_run
    where
        certification_id = %(certification_id)s
        and status = 'certified'
),

shown as (
    select
        month,
        snapshot_date
    from viz.mrr_bridge_total
),

final as (
    select incoming.month
    from incoming
    cross join certification
    left join shown
        on incoming.month = shown.month
    where
        %(restate)s
        or shown.snapshot_date is null
        or incoming.snapshot_date >= shown.snapshot_date
    order by incoming.month
)

select * from final
