-- Close the run state that runs no longer holding the warehouse left open:
-- certification records still running and extraction batches never staged.
-- Only the lease holder works on the warehouse, so whatever else is open
-- belongs to a run that crashed, was stopped, or was taken over.
-- Grain: one row per record or batch closed.
with abandoned_runs as (
    update certification.certification_run
    set
        status = 'abandoned',
        closed_at = now(),
        failure_summary = %(reason)s
    where status = 'running'
        and certification_id is distinct from %(own_certification_id)s
    returning certification_id
),

abandoned_batches as (
    update raw.extraction_batch
    set
        status = 'abandoned',
        finished_at = now(),
        error = %(reason)s
    where status in ('running', 'extracted')
        and batch_id is distinct from %(own_batch_id)s
    returning batch_id
)

select
    'certification' as kind,
    certification_id as id
from abandoned_runs
union all
select
    'extraction batch' as kind,
    batch_id as id
from abandoned_batches
