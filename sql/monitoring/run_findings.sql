-- What monitoring found in a run that no hold page has told (issue 14): the warnings and the suppressed
-- anomalies of each certification record of the run (the run's own, or each shop's) that monitoring did
-- not hold (a hold's page already listed them), with the resolution that suppressed each.
-- Grain: one row per observation found unusual.
with run_records as (
    select
        certification_id,
        scope
    from certification.certification_run
    where
        dag_id = %(dag_id)s
        and run_id = %(run_id)s
),

held as (
    select distinct certification_id
    from monitoring.incident_run
    where
        dag_id = %(dag_id)s
        and run_id = %(run_id)s
        and outcome = 'held'
),

found as (
    select
        run_records.scope,
        observed.point,
        observed.metric,
        observed.subject,
        observed.observed_day,
        observed.value,
        observed.baseline,
        observed.score,
        observed.history_size,
        observed.severity,
        observed.thresholds,
        observed.incident_id,
        observed.suppressed_by_incident_id,
        observed.suppression_note
    from monitoring.observation as observed
    inner join run_records
        on observed.certification_id = run_records.certification_id
    where
        observed.severity in ('warning', 'hold')
        and observed.certification_id not in (select held.certification_id from held)
),

final as (
    select * from found
    order by scope, point, metric, subject, observed_day
)

select * from final
