"""One extraction batch: Salesforce -> raw, with what the source said about itself.

Every object is read incrementally on SystemModstamp (with a lookback, via
queryAll so deletions arrive) and its records are appended to `raw` page by
page as they arrive, so nothing the source said is ever lost: a clean page
set-based, from the text the source sent, while the next one downloads. Then the
source's own COUNT() and control sums are taken, and what the read saw is
recorded in raw.extraction_batch_object. Merging into staging is the next
stage (revcert.staging.salesforce_staging), which alone moves the watermarks.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from revcert.extraction.batches import fail_batch
from revcert.extraction.errors import SourceDataError
from revcert.extraction.salesforce_client import BulkPage, RestPage, SalesforceClient
from revcert.extraction.salesforce_objects import (
    REPLICATION_KEY,
    SalesforceObject,
    page_is_clean,
    parse_salesforce_datetime,
    record_problems,
    salesforce_objects,
)
from revcert.money import dumps_exact
from revcert.settings import Settings
from revcert.warehouse.connection import connect

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_PROBLEMS_SHOWN = 50
# How far reading (download, checks, the source's counts, the next object's job) may run ahead of
# loading into raw: a step is a page or an object's end, so an object's counts and the next object's
# first page are taken while its last pages load.
READ_AHEAD_STEPS = 3
FieldDefinitions = dict[str, dict[str, dict[str, Any]]]
# One set-based append of a clean page to raw: the records' JSON as the source sent it (REST)
# or as its CSV reads (Bulk 2.0), with the same Id, SystemModstamp and IsDeleted as
# _append_to_raw would write; returns what the extraction counts.
_APPEND_PAGE = """
    with appended as (
        insert into raw.salesforce_record (batch_id, object_name, record_id, system_modstamp, is_deleted, record)
        select %(batch_id)s, %(object_name)s, record ->> 'Id', (record ->> 'SystemModstamp')::timestamptz,
            coalesce(record -> 'IsDeleted' in ('true', '"true"'), false), record
        from {records}
        returning is_deleted, system_modstamp
    )
    select count(*), count(*) filter (where is_deleted), max(system_modstamp) from appended
"""
_REST_RECORDS = "jsonb_array_elements(%(page)s::jsonb -> 'records') as records (record)"
# A record is the object of its header's names and its cells, as text (null for an empty cell), as
# to_jsonb(page) would make it, without looking up each cell's type. offset 0 keeps the subquery whole:
# pulled up, jsonb_object would run once per use of `record`.
_BULK_RECORDS = ("(select jsonb_object(%(header)s::text[], array[{cells}]) as record "
                 "from pg_temp.salesforce_page offset 0) as records")


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
           settings: Settings) -> tuple[str, str, Iterator[RestPage | BulkPage]]:
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


def _read_ahead(items: Iterator[T], steps: int = 1) -> Iterator[T]:
    """`items`, up to `steps` next ones made in a thread, in order, while the caller works on the one it has.

    An error in the thread reaches the caller in its place, after the items made before it. When the
    caller stops early, items not yet begun are not made.
    """
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="salesforce-page")
    try:
        coming = deque(worker.submit(next, items, None) for _ in range(steps))
        while (item := coming.popleft().result()) is not None:
            coming.append(worker.submit(next, items, None))
            yield item
    finally:
        worker.shutdown(cancel_futures=True)


def _is_clean(obj: SalesforceObject, page: RestPage | BulkPage, definitions: dict[str, dict[str, Any]]) -> bool:
    """The page breaks no rule and PostgreSQL reads its text as Python does: it can be appended set-based."""
    return page_is_clean(obj, page.distinct, definitions) and (isinstance(page, RestPage) or page.is_plain)


def _append_page(conn: psycopg.Connection, batch_id: int, extraction: ObjectExtraction, page: RestPage | BulkPage,
                 clean: bool, definitions: dict[str, dict[str, Any]]) -> list[str]:
    """Append one page to raw; returns the problems found in it (the page is kept regardless).

    A clean page, the usual one, goes in set-based: PostgreSQL reads the records from the
    page's own text. Any other page goes record by record, naming each problem.
    """
    if not clean:
        return _append_to_raw(conn, batch_id, extraction, page.records, definitions)
    parameters: dict[str, Any] = {"batch_id": batch_id, "object_name": extraction.obj.api_name}
    if isinstance(page, RestPage):
        records, parameters["page"] = sql.SQL(_REST_RECORDS), page.text
    else:
        columns = [sql.Identifier(name) for name in page.header]
        records = sql.SQL(_BULK_RECORDS).format(cells=sql.SQL(", ").join(columns))
        parameters["header"] = page.header
        conn.execute(sql.SQL("create temp table salesforce_page ({}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(column) for column in columns)))
        # FORCE_NULL: a quoted empty cell is null too, as csv.DictReader reads it.
        with conn.cursor().copy(sql.SQL("copy pg_temp.salesforce_page from stdin (format csv, header true, "
                                        "force_null ({}))").format(sql.SQL(", ").join(columns))) as copy:
            copy.write(page.text)
    fetched, deleted, max_modstamp = conn.execute(sql.SQL(_APPEND_PAGE).format(records=records),
                                                  parameters).fetchone()
    extraction.records_fetched += fetched
    extraction.deleted_fetched += deleted
    if max_modstamp and (extraction.max_modstamp is None or max_modstamp > extraction.max_modstamp):
        extraction.max_modstamp = max_modstamp
    return []


def _append_to_raw(conn: psycopg.Connection, batch_id: int, extraction: ObjectExtraction,
                   records: list[dict[str, Any]], definitions: dict[str, dict[str, Any]]) -> list[str]:
    """COPY records into raw one by one; returns the problems found in them (the records are kept regardless)."""
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


@dataclass(frozen=True)
class _Step:
    """What the reading thread hands over, in order: each page of an object, then that its pages are all
    read, then that the source's own count and sums are taken."""

    extraction: ObjectExtraction
    page: RestPage | BulkPage | None = None
    clean: bool = False
    counted: bool = False


def _read_batch(client: SalesforceClient, batch: Batch, objects: list[SalesforceObject],
                definitions: FieldDefinitions, settings: Settings) -> Iterator[_Step]:
    """Every object's pages, checked, then its source count and sums, one object after the other.

    Pages download a step ahead in a thread of their own: Salesforce serves the next page
    while this one is parsed and checked.
    """
    for obj in objects:
        watermark = batch.watermarks.get(obj.api_name)
        since = None
        if obj.replication == "incremental" and watermark is not None:
            since = watermark - timedelta(seconds=settings.lookback_seconds)
        api, soql, pages = _pages(client, obj, since, settings)
        extraction = ObjectExtraction(obj, obj.replication, api, soql,
                                      watermark if obj.replication == "incremental" else None,
                                      read_whole=since is None)
        for page in _read_ahead(pages):
            yield _Step(extraction, page, _is_clean(obj, page, definitions[obj.api_name]))
        yield _Step(extraction)
        extraction.extracted_at = datetime.now(timezone.utc)
        live_filter = " WHERE IsDeleted = false" if obj.has_is_deleted else ""
        extraction.source_count = client.count(f"SELECT COUNT() FROM {obj.api_name}{live_filter}")
        if obj.control_sum_fields:
            sums = client.aggregate(f"SELECT {', '.join(f'SUM({f})' for f in obj.control_sum_fields)} "
                                    f"FROM {obj.api_name}{live_filter}")
            extraction.source_sums = {name: Decimal(sums.get(f"expr{i}") or 0)
                                      for i, name in enumerate(obj.control_sum_fields)}
        yield _Step(extraction, counted=True)


def _refuse_problems(batch_id: int, obj: SalesforceObject, problems: list[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:_MAX_PROBLEMS_SHOWN])
        more = f"\n  ... and {len(problems) - _MAX_PROBLEMS_SHOWN} more" if len(problems) > _MAX_PROBLEMS_SHOWN else ""
        raise SourceDataError(f"{len(problems)} malformed value(s) in {obj.api_name} (rule: every field must parse "
                              "as its type and fit its definition in the org; nothing was staged; raw batch "
                              f"{batch_id} keeps the records as sent):\n  {shown}{more}")


def _extract_objects(dsn: str, client: SalesforceClient, batch: Batch, objects: list[SalesforceObject],
                     definitions: FieldDefinitions, settings: Settings) -> None:
    """Append every object's pages to raw, page by page, and record what each object's read saw.

    Reading runs a step ahead in a thread: the next page is served, parsed and checked (or
    the next object's first, or the counts taken) while PostgreSQL loads this one.
    """
    problems: list[str] = []
    with connect(dsn) as conn:
        for step in _read_ahead(_read_batch(client, batch, objects, definitions, settings), steps=READ_AHEAD_STEPS):
            obj = step.extraction.obj
            if step.page is not None:
                problems += _append_page(conn, batch.batch_id, step.extraction, step.page, step.clean,
                                         definitions[obj.api_name])
                conn.commit()
            elif not step.counted:
                _refuse_problems(batch.batch_id, obj, problems)
            else:
                log.info("%s: %s records (%s deleted) via %s", obj.api_name, step.extraction.records_fetched,
                         step.extraction.deleted_fetched, step.extraction.api)
                _record_object(dsn, batch.batch_id, step.extraction)


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
        _extract_objects(dsn, client, batch, objects, definitions, settings)
        with connect(dsn) as conn:
            conn.execute("update raw.extraction_batch set status = 'extracted' where batch_id = %s",
                         [batch.batch_id])
    except BaseException as error:
        fail_batch(dsn, batch.batch_id, error)
        raise
