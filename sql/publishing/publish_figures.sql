-- Copy the certified figures of the replaced months (or, for a table without
-- months, all of it) from a mart table into the viz table published from it,
-- each row stamped with the certification that certified it (and nothing at
-- all unless that certification passed). The caller has removed those rows
-- from the viz table, in the same transaction.
-- Grain: the viz table's.
with certification as (
    select
        certification_id,
        certified_at
    from certification.certification_run
    where
        certification_id = %(certification_id)s
        and status = 'certified'
)

insert into {viz_table} ({columns}, certification_id, certified_at)
select
    {figures},
    certification.certification_id,
    certification.certified_at
from {mart_table} as figures
cross join certification
where {months}
