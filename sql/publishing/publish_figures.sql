-- Copy into a viz table the certified figures being replaced (as in
-- unpublish_changed_rows) that it does not hold yet: in the same
-- transaction the caller has removed every row that differs from them
-- (unpublish_changed_rows). A table stamped row by row gets the
-- certification's stamp; nothing at all is copied unless it passed.
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
where
    {rows}
    and not exists (
        select 1
        from {viz_table} as shown
        where
            {shown_key}
            and {shown_rows}
    )
-- A key shown for a customer left alone (a line that moved to a customer
-- compared) is not written over: that customer's rows are then not what was
-- recorded, and publishing compares every row after all.
on conflict do nothing
