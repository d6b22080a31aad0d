-- Copy into a viz table the certified figures it does not show as they are
-- (changed_rows; the rows shown otherwise are removed already, in the same
-- transaction). A table stamped row by row gets the certification's stamp;
-- nothing at all is copied unless it passed.
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

insert into {viz_table} ({columns})
select {figures}
from {mart_table} as figures
cross join certification
inner join pg_temp.changed_rows as changed
    on {changed_key}
where changed.is_certified
-- A key shown for a customer left alone (a line that moved to a customer
-- compared) is not written over: that customer's rows are then not what was
-- recorded, and publishing compares every row after all.
on conflict do nothing
