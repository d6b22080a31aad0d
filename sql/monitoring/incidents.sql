-- The incident ledger (issue 14), open incidents first, then acknowledged, then resolved, the most
-- recently seen first within each; one status or all, one incident or all. Read through viz so the
-- page's login can read it too.
-- Grain: one row per incident.
select
    incident_id,
    kind,
    dag_id,
    scope,
    rule,
    subject,
    severity,
    summary,
    status,
    is_holding,
    first_seen_at,
    last_seen_at,
    acknowledged_at,
    acknowledged_by,
    resolved_at,
    resolved_by,
    resolution_note,
    expected_until,
    runs_affected
from viz.incident
where
    (%(status)s::text is null or status = %(status)s)
    and (%(incident_id)s::bigint is null or incident_id = %(incident_id)s)
order by
    case status when 'open' then 0 when 'acknowledged' then 1 else 2 end asc,
    last_seen_at desc,
    incident_id desc
limit %(limit)s
