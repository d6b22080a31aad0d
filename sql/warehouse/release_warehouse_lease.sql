-- Free the warehouse lease, if the named holder has it.
-- Grain: zero or one lease row.
update certification.warehouse_lease
set
    holder = null,
    holder_dag_id = null,
    holder_run_id = null,
    certification_id = null,
    acquired_at = null,
    heartbeat_at = null
where lease_name = %(lease_name)s
    and holder = %(holder)s
