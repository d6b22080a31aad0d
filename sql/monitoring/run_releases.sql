-- The holds a run released (its `release_hold` param), each with what it held (issue 14).
-- Grain: one row per incident released.
select
    incident.incident_id,
    incident.scope,
    incident.rule,
    incident.subject,
    incident.summary,
    incident.resolved_by
from monitoring.incident_run as runs
inner join monitoring.incident as incident
    on runs.incident_id = incident.incident_id
where
    runs.dag_id = %(dag_id)s
    and runs.run_id = %(run_id)s
    and runs.outcome = 'released'
order by incident.incident_id
