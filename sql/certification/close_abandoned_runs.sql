-- Close the run state that runs no longer holding their pipeline's lease left
-- open: certification records still running, records certified but never
-- published (they stay certified: the figures passed, and were not shown), and
-- extraction batches never staged. Only the lease holder works on its
-- pipeline's tables, so whatever else is open belongs to a run that crashed,
-- was stopped, or was taken over.
-- Grain: one row per record or batch closed.
with abandoned_runs as (
    update certification.certification_run
    set
        status = 'abandoned',
        closed_at = now(),
        failure_summary = %(reason)s
    where
        status = 'running'
        and dag_id = %(dag_id)s
        and run_id <> %(own_run_id)s
    returning certification_id, extraction_batch_id
),

unpublished_runs as (
    update certification.certification_run
    set
        closed_at = now(),
        failure_summary = 'certified, not published: ' || %(reason)s
    where
        status = 'certified'
        and closed_at is null
        and dag_id = %(dag_id)s
        and run_id <> %(own_run_id)s
    returning certification_id
),

abandoned_batches as (
    update raw.extraction_batch
    set
        status = 'abandoned',
        finished_at = now(),
        error = %(reason)s
    where
        status in ('running', 'extracted')
        and source = %(source)s
        and batch_id not in (
            select run.extraction_batch_id
            from certification.certification_run as run
            where
                run.dag_id = %(dag_id)s
                and run.run_id = %(own_run_id)s
                and run.extraction_batch_id is not null
        )
    returning batch_id
)

select
    'certification' as kind,
    certification_id as id
from abandoned_runs
union all
select
    'certified, unpublished record' as kind,
    certification_id as id
from unpublished_runs
union all
select
    'extraction batch' as kind,
    batch_id as id
from abandoned_batches
