"""One extraction batch: Salesforce -> raw, with what the source said about itself.

Every object is read incrementally on SystemModstamp (with a lookback, via
queryAll so deletions arrive) and its records are appended to `raw` page by
page as they arrive, so nothing the source said is ever lost. Then the
source's own COUNT() and control sums are taken, and what the read saw is
recorded in raw.extraction_batch_object. Merging into staging is the next
stage (revcert.staging.salesforce_staging), which alone moves the watermarks.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from revcert.extraction.batches import fail_batch
from revcert.extraction.errors import SourceDataError
from revcert.extraction.salesforce_client import SalesforceClient
from revcert.extraction.salesforce_objects import (
    REPLICATION_KEY,
    SalesforceObject,
    parse_salesforce_datetime,
    record_problems,
    salesforce_objects,
)
from revcert.money import dumps_exact
from revcert.settings import Settings
from revcert.warehouse.connection import connect

log = logging.getLogger(__name__)

_MAX_PROBLEMS_SHOWN = 50
FieldDefinitions = dict[str, dict[str, dict[str, Any]]]


@dataclass
class ObjectExtraction:
    """What one object's extraction saw; becomes a row of staging.extraction_audit."""

    obj: SalesforceObject
    replication: str
    api: str
    soql: str
    watermark_before: datetime | None
    read_whole: bool
    records_fetched: int = 0
    deleted_fetched: int = 0
    max_modstamp: datetime | None = None
    source_count: int = 0
    source_sums: dict[str, Decimal] = field(default_factory=dict)
    extracted_at: datetime | None = None

    @property
    def watermark_after(self) -> datetime | None:
        if self.replication == "full":
            return None
        candidates = [m for m in (self.watermark_before, self.max_modstamp) if m is not None]
        return max(candidates) if candidates else None


def _soql_datetime(moment: datetime) -> str:
    # Only datetimes this code computed reach SOQL text; nothing user-supplied does.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_soql(obj: SalesforceObject, since: datetime | None, *, order: bool) -> str:
    query = f"SELECT {', '.join(obj.field_names)} FROM {obj.api_name}"
    if since is not None:
        query += f" WHERE {REPLICATION_KEY} >= {_soql_datetime(since)}"
    if order and obj.replication == "incremental":
        query += f" ORDER BY {REPLICATION_KEY}, Id"
    return query


@dataclass(frozen=True)
class Batch:
    """An extraction batch as it opens: its id and the watermarks it reads from (none: read whole)."""

    batch_id: int
    watermarks: dict[str, datetime]


def open_batch(dsn: str, *, full: bool = False) -> Batch:
    """Open a batch in raw (status `running`); `full` ignores the watermarks and reads every object whole."""
    with connect(dsn) as conn:
        watermarks = {} if full else dict(conn.execute(
            "select object_name, watermark from staging.extraction_watermark").fetchall())
        batch_id = conn.execute(
            "insert into raw.extraction_batch (source, mode, status, started_at) values ('salesforce', %s, "
            "'running', now()) returning batch_id", ["incremental" if watermarks else "full"]).fetchone()[0]
    return Batch(batch_id, watermarks)


def check_fields(client: SalesforceClient, objects: list[SalesforceObject]) -> FieldDefinitions:
    """Every declared field exists in the org; returns their definitions, or one error naming each missing field."""
    missing, definitions = [], {}
    for obj in objects:
        definitions[obj.api_name] = client.describe_fields(obj.api_name)
        missing += [f"{obj.api_name}.{name}" for name in obj.field_names if name not in definitions[obj.api_name]]
    if missing:
        raise SourceDataError(f"fields missing from the Salesforce org: {', '.join(missing)} "
                              "(rule: every field of METHODOLOGY.md A1 must exist; check the field's API name, "
                              "its field-level security for the integration user, or REVCERT_BUSINESS_UNIT_FIELD)")
    return definitions


def _pages(client: SalesforceClient, obj: SalesforceObject, since: datetime | None,
           settings: Settings) -> tuple[str, str, Iterator[list[dict[str, Any]]]]:
    """Choose REST or Bulk 2.0 by how many records are due, and return the pages."""
    count_query = f"SELECT COUNT() FROM {obj.api_name}"
    if since is not None:
        count_query += f" WHERE {REPLICATION_KEY} >= {_soql_datetime(since)}"
    include_deleted = obj.has_is_deleted
    due = client.count(count_query, include_deleted=include_deleted)
    if due > settings.bulk_threshold:
        soql = build_soql(obj, since, order=False)
        return "bulk2", soql, client.bulk_pages(obj.api_name, soql, include_deleted=include_deleted)
    soql = build_soql(obj, since, order=True)
    return "rest", soql, client.query_pages(soql, include_deleted=include_deleted)


def _append_to_raw(conn: psycopg.Connection, batch_id: int, extraction: ObjectExtraction,
                   records: list[dict[str, Any]], definitions: dict[str, dict[str, Any]]) -> list[str]:
    """COPY one page into raw; returns the problems found in it (the page is kept regardless)."""
    problems: list[str] = []
    with conn.cursor().copy("copy raw.salesforce_record (batch_id, object_name, record_id, system_modstamp, "
                            "is_deleted, record) from stdin") as copy:
        for record in records:
            problems.extend(record_problems(extraction.obj, record, definitions))
            modstamp_text = record.get(REPLICATION_KEY)
            try:
                modstamp = parse_salesforce_datetime(modstamp_text) if modstamp_text else None
            except ValueError:
                modstamp = None
            deleted = record.get("IsDeleted") in (True, "true")
            copy.write_row((batch_id, extraction.obj.api_name, record.get("Id") or "", modstamp, deleted,
                            dumps_exact(record)))
            extraction.records_fetched += 1
            extraction.deleted_fetched += deleted
            if modstamp and (extraction.max_modstamp is None or modstamp > extraction.max_modstamp):
                extraction.max_modstamp = modstamp
    return problems


def _extract_object(dsn: str, client: SalesforceClient, batch_id: int, obj: SalesforceObject,
                    watermark: datetime | None, definitions: dict[str, dict[str, Any]],
                    settings: Settings) -> ObjectExtraction:
    since = None
    if obj.replication == "incremental" and watermark is not None:
        since = watermark - timedelta(seconds=settings.lookback_seconds)
    api, soql, pages = _pages(client, obj, since, settings)
    extraction = ObjectExtraction(obj, obj.replication, api, soql,
                                  watermark if obj.replication == "incremental" else None, read_whole=since is None)
    problems: list[str] = []
    with connect(dsn) as conn:
        for page in pages:
            problems += _append_to_raw(conn, batch_id, extraction, page, definitions)
            conn.commit()
    if problems:
        shown = "\n  ".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = f"\n  ... and {len(problems) - _MAX_PROBLEMS_SHOWN} more" if len(problems) > _MAX_PROBLEMS_SHOWN else ""
        raise SourceDataError(f"{len(problems)} malformed value(s) in {obj.api_name} (rule: every field must parse "
                              "as its type and fit its definition in the org; nothing was staged; raw batch "
                              f"{batch_id} keeps the records as sent):\n  {shown}{more}")
    extraction.extracted_at = datetime.now(timezone.utc)
    live_filter = " WHERE IsDeleted = false" if obj.has_is_deleted else ""
    extraction.source_count = client.count(f"SELECT COUNT() FROM {obj.api_name}{live_filter}")
    if obj.control_sum_fields:
        sums = client.aggregate(f"SELECT {', '.join(f'SUM({f})' for f in obj.control_sum_fields)} "
                                f"FROM {obj.api_name}{live_filter}")
        extraction.source_sums = {name: Decimal(sums.get(f"expr{i}") or 0)
                                  for i, name in enumerate(obj.control_sum_fields)}
    log.info("%s: %s records (%s deleted) via %s", obj.api_name, extraction.records_fetched,
             extraction.deleted_fetched, api)
    return extraction


def _record_object(dsn: str, batch_id: int, extraction: ObjectExtraction) -> None:
    with connect(dsn) as conn:
        conn.execute(
            "insert into raw.extraction_batch_object (batch_id, object_name, replication, api, soql, read_whole, "
            "records_fetched, deleted_fetched, watermark_before, max_modstamp, source_count, source_sums, "
            "extracted_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [batch_id, extraction.obj.api_name, extraction.replication, extraction.api, extraction.soql,
             extraction.read_whole, extraction.records_fetched, extraction.deleted_fetched,
             extraction.watermark_before, extraction.max_modstamp, extraction.source_count,
             Jsonb({name: str(total) for name, total in extraction.source_sums.items()}), extraction.extracted_at])


def read_batch_objects(conn: psycopg.Connection, batch_id: int, settings: Settings) -> list[ObjectExtraction]:
    """What the extraction of `batch_id` saw, object by object, in extraction order."""
    objects = {obj.api_name: obj for obj in salesforce_objects(settings)}
    rows = conn.execute(
        "select object_name, replication, api, soql, watermark_before, read_whole, records_fetched, "
        "deleted_fetched, max_modstamp, source_count, source_sums, extracted_at from raw.extraction_batch_object "
        "where batch_id = %s order by extracted_at", [batch_id]).fetchall()
    return [ObjectExtraction(objects[name], replication, api, soql, watermark_before, read_whole, fetched, deleted,
                             max_modstamp, source_count, {k: Decimal(v) for k, v in sums.items()}, extracted_at)
            for (name, replication, api, soql, watermark_before, read_whole, fetched, deleted, max_modstamp,
                 source_count, sums, extracted_at) in rows]


def extract_batch(dsn: str, batch: Batch, client: SalesforceClient, settings: Settings | None = None) -> None:
    """Read every object into raw as batch `batch` (it ends `extracted`).

    Args:
        dsn: The warehouse (migrated).
        batch: The batch opened for this read, with the watermarks to read from.
        client: A logged-in Salesforce client.
        settings: Lookback, Bulk threshold, business-unit field.

    Raises:
        ExtractionError: the source failed beyond the retries, refused a request, or
            sent records that break a rule. The batch is marked failed; raw keeps
            what arrived; staging and the watermarks are untouched.
    """
    settings = settings or Settings()
    objects = salesforce_objects(settings)
    try:
        definitions = check_fields(client, objects)
        for obj in objects:
            extraction = _extract_object(dsn, client, batch.batch_id, obj, batch.watermarks.get(obj.api_name),
                                         definitions[obj.api_name], settings)
            _record_object(dsn, batch.batch_id, extraction)
        with connect(dsn) as conn:
            conn.execute("update raw.extraction_batch set status = 'extracted' where batch_id = %s",
                         [batch.batch_id])
    except BaseException as error:
        fail_batch(dsn, batch.batch_id, error)
        raise
