-- Take the warehouse lease for a holder, in one statement: it succeeds (one row)
-- when nobody holds the lease, the holder already does, or the current holder
-- has not renewed it for stale_after_seconds.
-- Grain: zero or one row.
update certification.warehouse_lease
set
    holder_run_id = %(holder)s,
    certification_id = %(certification_id)s,
    acquired_at = case when holder_run_id = %(holder)s then acquired_at else now() end,
    heartbeat_at = now()
where lease_name = 'warehouse'
    and (
        holder_run_id is null
        or holder_run_id = %(holder)s
        or heartbeat_at < now() - make_interval(secs => %(stale_after_seconds)s)
    )
returning lease_name
