"""Merge an extracted Salesforce batch into staging, write its audit, move the watermarks.

All of it happens in one transaction: after a failure, staging, the audit and
the watermarks are exactly as they were, and the batch is marked failed.
"""
from __future__ import annotations

from decimal import Decimal

import psycopg
from psycopg import sql

from revcert.extraction.batches import fail_batch
from revcert.extraction.errors import SourceDataError
from revcert.extraction.salesforce_extract import ObjectExtraction, read_batch_objects
from revcert.extraction.salesforce_objects import SalesforceObject
from revcert.settings import Settings
from revcert.sqlfiles import load_sql
from revcert.warehouse.bulk_writes import analyze_if_changed
from revcert.warehouse.connection import connect

_MAX_SHOWN = 50


def check_duplicate_ids(conn: psycopg.Connection, batch_id: int) -> None:
    """Two different records under one Id and SystemModstamp in a batch stop it, naming them."""
    duplicates = conn.execute(load_sql("staging/audit", "check_duplicate_ids"), {"batch_id": batch_id}).fetchall()
    if duplicates:
        listed = ", ".join(f"{obj} {record_id} ({versions} versions at {modstamp:%Y-%m-%dT%H:%M:%S.%f}Z)"
                           for obj, record_id, modstamp, versions in duplicates[:_MAX_SHOWN])
        raise SourceDataError(f"duplicate Id: {len(duplicates)} record(s) arrived with different contents under "
                              f"the same Id and SystemModstamp (rule: an Id names one record): {listed}")


def _staged_control_sums(conn: psycopg.Connection, obj: SalesforceObject) -> dict[str, Decimal]:
    """The staged live records' sums, named by the API field they add up."""
    if not obj.control_sum_fields:
        return {}
    cursor = conn.execute(load_sql("staging/audit", f"control_sums_{obj.staging_table}"))
    row = cursor.fetchone()
    return {column.name: value for column, value in zip(cursor.description, row)}


def _stage_object(conn: psycopg.Connection, batch_id: int, extraction: ObjectExtraction, settings: Settings) -> None:
    obj = extraction.obj
    table = sql.Identifier("staging", obj.staging_table)
    if extraction.read_whole:
        # A whole read returns every record the org still has (deleted ones too, via
        # queryAll), so it replaces the staged state; records purged from the org go.
        conn.execute(sql.SQL("delete from {}").format(table))
    merged = conn.execute(load_sql("staging", obj.staging_table),
                          {"batch_id": batch_id, "business_unit_field": settings.business_unit_field}).rowcount
    analyze_if_changed(conn, "staging", obj.staging_table, merged)
    live = sql.SQL(" where not is_deleted") if obj.has_is_deleted else sql.SQL("")
    staged_count = conn.execute(sql.SQL("select count(*) from {}{}").format(table, live)).fetchone()[0]
    conn.execute(
        "insert into staging.extraction_audit (batch_id, object_name, replication, api, soql, records_fetched, "
        "deleted_fetched, watermark_before, watermark_after, source_count, staged_count, extracted_at) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [batch_id, obj.api_name, extraction.replication, extraction.api, extraction.soql,
         extraction.records_fetched, extraction.deleted_fetched, extraction.watermark_before,
         extraction.watermark_after, extraction.source_count, staged_count, extraction.extracted_at])
    staged_sums = _staged_control_sums(conn, obj)
    for field_name, source_sum in extraction.source_sums.items():
        conn.execute("insert into staging.extraction_control_sum (batch_id, object_name, field_name, source_sum, "
                     "staged_sum) values (%s, %s, %s, %s, %s)",
                     [batch_id, obj.api_name, field_name, source_sum, staged_sums[field_name]])
    if extraction.watermark_after is not None:
        conn.execute("insert into staging.extraction_watermark (object_name, watermark, batch_id) values (%s, %s, %s) "
                     "on conflict (object_name) do update set watermark = excluded.watermark, "
                     "batch_id = excluded.batch_id, updated_at = now()",
                     [obj.api_name, extraction.watermark_after, batch_id])


def stage_batch(dsn: str, batch_id: int, settings: Settings | None = None) -> None:
    """Merge extracted batch `batch_id` into staging, with its audit and watermarks, in one transaction."""
    settings = settings or Settings()
    try:
        with connect(dsn) as conn:
            status = conn.execute("select status from raw.extraction_batch where batch_id = %s for update",
                                  [batch_id]).fetchone()
            if status is None or status[0] != "extracted":
                raise SourceDataError(f"batch {batch_id} cannot be staged: its status is "
                                      f"{status[0] if status else 'unknown'}, not extracted")
            check_duplicate_ids(conn, batch_id)
            for extraction in read_batch_objects(conn, batch_id, settings):
                _stage_object(conn, batch_id, extraction, settings)
            conn.execute("update raw.extraction_batch set status = 'staged', finished_at = now() "
                         "where batch_id = %s", [batch_id])
    except BaseException as error:
        fail_batch(dsn, batch_id, error)
        raise
