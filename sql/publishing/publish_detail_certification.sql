-- The certification the published lines and contracts are those of (the
-- views viz.customer_line and viz.customer_contract carry it): the one that
-- has just replaced them, if it passed. The caller has removed the previous.
-- Grain: one row.
insert into viz.customer_detail_certification (certification_id, certified_at)
select
    certification_id,
    certified_at
from certification.certification_run
where
    certification_id = %(certification_id)s
    and status = 'certified'
