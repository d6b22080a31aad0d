-- The runs an incident affected and what it did to each (issue 14), with the certification record of
-- each run (or shop of it); a reconciliation's runs have none. Newest first. Read through viz.
-- Grain: one row per incident and run.
select
    incident_id,
    dag_id,
    run_id,
    certification_id,
    outcome,
    seen_at
from viz.incident_run
where incident_id = %(incident_id)s
order by seen_at desc, run_id desc
