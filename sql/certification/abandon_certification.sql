-- Close a run that was stopped before it finished: its certification record
-- (unless it already published or failed) and its extraction batch, if that
-- was never staged, each naming why.
-- Grain: one certification record and its batch.
with certification as (
    update certification.certification_run
    set
        status = 'abandoned',
        closed_at = now(),
        failure_summary = %(reason)s
    where
        certification_id = %(certification_id)s
        and status in ('running', 'certified')
        and published_at is null
    returning extraction_batch_id
)

update raw.extraction_batch
set
    status = 'abandoned',
    finished_at = now(),
    error = %(reason)s
where
    batch_id in (select certification.extraction_batch_id from certification)
    and status in ('running', 'extracted')
