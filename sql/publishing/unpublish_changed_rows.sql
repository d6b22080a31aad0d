-- Remove from a viz table the rows being replaced (those of the replaced
-- months, or for a table without months all of it; only the compared
-- customers' when the others are recorded as published already) that the
-- certified figures coming in do not hold exactly as shown: changed, gone, or
-- stamped by another certification. The rows left are those publishing would
-- write again unchanged, so they stay and publish_figures adds only what is
-- missing.
-- Grain: the viz table's.
with certification as (
    select
        certification_id,
        certified_at
    from certification.certification_run
    where
        certification_id = %(certification_id)s
        and status = 'certified'
),

incoming as (
    select {incoming}
    from {mart_table} as figures
    cross join certification
    where {rows}
),

shown as (
    select {shown}
    from {viz_table} as figures
    where {rows}
),

changed as (
    select * from shown
    except
    select * from incoming
)

-- The rows being replaced are named on the table deleted from as well: the
-- planner then reads only those (by the customers' index, say), not the table.
delete from {viz_table} as published
using changed
where
    {same_key}
    and {published_rows}
