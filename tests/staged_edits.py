"""Edits written straight into staging, stamped as the stager stamps them: with a batch of their own.

A build finds what changed by the batch that wrote each staged row (revcert.methodology.mart), so a test that
edits staging in place opens a batch first; until the session opens another, every row it writes or rewrites
carries that batch, as rows merged from an extraction would.
"""
from __future__ import annotations

import psycopg

from revcert.extraction.salesforce_objects import salesforce_objects


def open_staging_batch(conn: psycopg.Connection, *, full: bool = False) -> int:
    """A staged batch for the session's next edits, of subscription lines read since their watermark or, `full`,
    read whole (no watermark) as a full extraction reads every object. Returns its id."""
    conn.execute("create or replace function public.stamp_staged_batch() returns trigger language plpgsql as $$ "
                 "begin new.batch_id := coalesce(current_setting('revcert.staging_batch', true)::bigint, "
                 "new.batch_id); return new; end $$")
    for table in (obj.staging_table for obj in salesforce_objects()):
        conn.execute(f"create or replace trigger stamp_staged_batch before insert or update on staging.{table} "
                     "for each row execute function public.stamp_staged_batch()")
    batch_id = conn.execute("insert into raw.extraction_batch (source, mode, status, started_at, finished_at) "
                            "values ('salesforce', %s, 'staged', now(), now()) returning batch_id",
                            ["full" if full else "incremental"]).fetchone()[0]
    conn.execute("insert into staging.extraction_audit (batch_id, object_name, replication, api, soql, "
                 "records_fetched, deleted_fetched, watermark_before, watermark_after, source_count, staged_count, "
                 "extracted_at, staged_at) values (%s, 'SBQQ__Subscription__c', 'incremental', 'rest', "
                 "'edited in place', 0, 0, case when %s then null else now() end, now(), 0, 0, now(), now())",
                 [batch_id, full])
    conn.execute("select set_config('revcert.staging_batch', %s, false)", [str(batch_id)])
    return batch_id
