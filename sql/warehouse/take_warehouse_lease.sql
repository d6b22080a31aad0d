-- Give the warehouse lease to a holder. The caller has locked the lease row and
-- decided the holder may take it (free, already its own, or its holder is gone).
-- Grain: the one lease row.
update certification.warehouse_lease
set
    holder = %(holder)s,
    holder_dag_id = %(dag_id)s,
    holder_run_id = %(run_id)s,
    certification_id = %(certification_id)s,
    acquired_at = case when holder = %(holder)s then acquired_at else now() end,
    heartbeat_at = now()
where lease_name = %(lease_name)s
