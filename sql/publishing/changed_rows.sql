-- The keys of a viz table whose rows change: among the rows being replaced
-- (those of the replaced months, or for a table without months all of it;
-- only the compared customers' when the others are recorded as published
-- already), a row shown that the certified figures coming in do not hold
-- exactly (changed, gone, or stamped by another certification), and a
-- certified row not shown as it is. One comparison of the two sides names
-- both: the rows neither names are those publishing would write again
-- unchanged, and stay.
-- Grain: one row per key whose row changes.
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
    select
        {keys},
        row({incoming}) as held,
        true as is_certified
    from {mart_table} as figures
    cross join certification
    where {rows}
),

shown as (
    select
        {keys},
        row({shown}) as held,
        true as is_shown
    from {viz_table} as figures
    where {rows}
)

select
    {either_key},
    coalesce(incoming.is_certified, false) as is_certified,
    coalesce(shown.is_shown, false) as is_shown
from incoming
full join shown
    on {matching_key}
where incoming.held is distinct from shown.held
