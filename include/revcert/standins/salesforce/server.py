"""The Salesforce stand-in: an org snapshot served over HTTPS on loopback.

It speaks the parts of Salesforce's wire protocol this project uses, so that
simple-salesforce runs against it unmodified:
- OAuth 2.0 client credentials: `POST /services/oauth2/token`
- REST: `/services/data/vXX.X/query` and `/queryAll` (with `nextRecordsUrl`
  paging), `COUNT()` and `SUM()`, `/sobjects/<Object>/describe`
- Bulk API 2.0 query jobs: create, poll, CSV results paged by `Sforce-Locator`
- Salesforce-shaped errors: INVALID_FIELD, MALFORMED_QUERY, INVALID_TYPE,
  INVALID_SESSION_ID, REQUEST_LIMIT_EXCEEDED

Tests and demos steer it from Python: injectable faults (the Nth matching
request fails with a status, the session expires, a response is slow or cut
short), edits applied while it runs (changed, new and deleted records with a
newer SystemModstamp), and a source count that lies, for certification tests.
"""
from __future__ import annotations

import base64
import csv
import io
import itertools
import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import trustme

from revcert.money import dumps_exact
from revcert.snapshots.salesforce_snapshot import Record, SnapshotError, object_names, read_records
from revcert.standins.salesforce import soql
from revcert.standins.salesforce.schema import CPQ_SCHEMA

STANDIN_CLIENT_ID = "revcert-standin"
STANDIN_CLIENT_SECRET = "standin-secret"
DEFAULT_PAGE_SIZE = 2000

FaultKind = Literal["status", "expire_session", "slow", "cut"]

_ERROR_BODIES = {
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
}


@dataclass
class Fault:
    """A planned failure.

    Attributes:
        kind: `status` (answer with `status`), `expire_session` (every session
            issued so far becomes invalid), `slow` (wait `delay_seconds` first),
            `cut` (send half the body, then close the connection).
        nth: Fire on the nth request whose path contains `path_contains`.
        times: How many matching requests in a row it fires on; None = forever.
        status: The HTTP status for `status` faults (403 sends REQUEST_LIMIT_EXCEEDED).
        path_contains: Which requests count, e.g. "/query" for query pages.
    """

    kind: FaultKind
    nth: int = 1
    times: int | None = 1
    status: int = 503
    delay_seconds: float = 0.0
    path_contains: str = "/services/data/"
    seen: int = 0
    fired: int = 0

    def fires(self, path: str) -> bool:
        if self.path_contains not in path:
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class _Cursor:
    records: list[Record]
    object_name: str


@dataclass
class _BulkJob:
    job_id: str
    operation: str
    object_name: str
    fields: list[str]
    records: list[Record]
    polls: int = 0


def _format_modstamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and len(value) == 28 and value.endswith("+0000"):
        return value[:-5] + "Z"
    return str(value)


class SalesforceOrg:
    """The records the stand-in serves, keyed by object and Id, with edit support.

    Its schema is the CPQ org's (standins.salesforce.schema) plus any field a
    snapshot's records carry: every declared object exists, records or not.
    """

    def __init__(self, records: dict[str, list[Record]]) -> None:
        self.objects: dict[str, dict[str, Record]] = {name: {} for name in CPQ_SCHEMA}
        for name, rows in records.items():
            self.objects[name] = {r["Id"]: r for r in rows}
        self.extra_fields: dict[str, set[str]] = {}
        self._record_fields: dict[str, set[str]] = {}
        self.lock = threading.RLock()

    @classmethod
    def from_snapshot(cls, directory: Path) -> SalesforceOrg:
        """Load a snapshot; an Id that appears twice in one object's file is refused, naming it."""
        records = {name: list(read_records(directory, name)) for name in object_names(directory)}
        for name, rows in records.items():
            seen: set[str] = set()
            without_id = [number for number, r in enumerate(rows, start=1) if not r.get("Id")]
            if without_id:
                raise SnapshotError(f"{name}.jsonl: records without an Id at record(s) {without_id[:10]}")
            duplicates = sorted({r["Id"] for r in rows if r["Id"] in seen or seen.add(r["Id"])})
            if duplicates:
                raise SnapshotError(f"{name}.jsonl: duplicate Id (an Id names one record): {', '.join(duplicates)}")
        return cls(records)

    def describe_fields(self, object_name: str) -> dict[str, dict[str, Any]]:
        """Every field of an object with its definition: the declared schema, then fields records carry."""
        described = {name: {"name": name, **definition}
                     for name, definition in CPQ_SCHEMA.get(object_name, {"Id": {"type": "id"}}).items()}
        with self.lock:
            if object_name not in self._record_fields:
                self._record_fields[object_name] = {key for record in self.objects[object_name].values()
                                                    for key in record if key != "attributes"}
            extra = self._record_fields[object_name] | self.extra_fields.get(object_name, set())
        for name in sorted(extra - set(described)):
            described[name] = {"name": name, "type": "string"}
        return described

    def fields(self, object_name: str) -> dict[str, str]:
        """Field names of an object by lower-case name."""
        return {name.lower(): name for name in self.describe_fields(object_name)}

    def next_modstamp(self) -> str:
        """A SystemModstamp later than every one in the org (edits always look newer)."""
        latest = max((r.get("SystemModstamp") or "" for rows in self.objects.values() for r in rows.values()),
                     default="")
        now = datetime.now(timezone.utc)
        moment = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if latest and soql.parse_datetime(latest) >= moment:
            moment = soql.parse_datetime(latest) + timedelta(milliseconds=1)
        return _format_modstamp(moment)

    def apply_edits(self, object_name: str, *, changes: dict[str, dict[str, Any]] | None = None,
                    new: list[Record] | None = None, deletions: list[str] | None = None) -> str:
        """Change, add and delete records as a user would; returns the SystemModstamp they got."""
        with self.lock:
            modstamp = self.next_modstamp()
            rows = self.objects.setdefault(object_name, {})
            for record_id, values in (changes or {}).items():
                rows[record_id] = {**rows[record_id], **values, "SystemModstamp": modstamp}
            for record in new or []:
                rows[record["Id"]] = {**record, "SystemModstamp": modstamp}
            for record_id in deletions or []:
                rows[record_id] = {**rows[record_id], "IsDeleted": True, "SystemModstamp": modstamp}
            # An edit only adds fields: the fields the records carry are those known plus the edited records'
            # (describing an object again would read every record of it).
            if object_name in self._record_fields:
                self._record_fields[object_name] |= {key for edited in [*(changes or {}).values(), *(new or [])]
                                                     for key in edited if key != "attributes"}
            return modstamp


class _RequestRefused(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


class SalesforceStandIn:
    """Serve an org over HTTPS on 127.0.0.1. Use as a context manager, or start()/stop()."""

    def __init__(self, org: SalesforceOrg, *, port: int = 0, page_size: int = DEFAULT_PAGE_SIZE,
                 client_id: str = STANDIN_CLIENT_ID, client_secret: str = STANDIN_CLIENT_SECRET,
                 state_dir: Path | None = None) -> None:
        self.org = org
        self.page_size = page_size
        self.client_id = client_id
        self.client_secret = client_secret
        self.faults: list[Fault] = []
        self.count_offsets: dict[str, int] = {}
        self.request_log: list[str] = []
        # Seconds spent selecting the records queries asked for: a scan of every record of the object, where
        # Salesforce answers from its indexes. The bench sets them beside an extraction's time.
        self.seconds_selecting = 0.0
        self._tokens: set[str] = set()
        self._cursors: dict[str, _Cursor] = {}
        self._jobs: dict[str, _BulkJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._state_dir = Path(state_dir or tempfile.mkdtemp(prefix="sf-standin-"))
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_bundle = self._state_dir / "standin-ca.pem"

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "stand-in not started"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SalesforceStandIn:
        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        self._state_dir.mkdir(parents=True, exist_ok=True)
        authority.cert_pem.write_to_path(str(self.ca_bundle))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(context)
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="salesforce-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SalesforceStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- steering from tests ---------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def login(self) -> dict[str, str]:
        """Where the stand-in listens and how to log in: what `revcert standin salesforce` prints, and what the
        bench's steps are given."""
        return {"url": self.url, "ca_bundle": str(self.ca_bundle), "client_id": self.client_id,
                "client_secret": self.client_secret}

    def airflow_connection(self) -> str:
        """The stand-in as an Airflow connection (JSON form), trusting its own CA."""
        return json.dumps({"conn_type": "http", "host": self.url, "login": self.client_id,
                           "password": self.client_secret, "extra": {"ca_bundle": str(self.ca_bundle)}})

    def expire_sessions(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- request handling ------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):012d}"

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise _RequestRefused(400, "unsupported_grant_type", "grant type not supported")
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            raise _RequestRefused(400, "invalid_client", "invalid client credentials")
        token = "00D" + secrets.token_hex(24)
        with self._lock:
            self._tokens.add(token)
        return {"access_token": token, "instance_url": self.url, "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)), "id": f"{self.url}/id/00Dstandin/005standin"}

    @property
    def issued_tokens(self) -> set[str]:
        """Every access token handed out (a test checks none of them reaches a log or a message)."""
        with self._lock:
            return set(self._tokens)

    def check_session(self, authorization: str | None) -> None:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            valid = token in self._tokens
        if not valid:
            raise _RequestRefused(401, *_ERROR_BODIES[401])

    def _compile(self, text: str) -> tuple[soql.Query, dict[str, str]]:
        query = soql.parse(text)
        if query.object_name not in self.org.objects:
            raise soql.SoqlError("INVALID_TYPE", f"sObject type '{query.object_name}' is not supported. If you "
                                 "are attempting to use a custom object, be sure to append the '__c' after the "
                                 "entity name.")
        known = self.org.fields(query.object_name)
        used = [*query.fields, *(f for _, f in query.aggregates), *soql.condition_fields(query.where),
                *(f for f, _, _ in query.order_by)]
        for name in used:
            if name.lower() not in known:
                raise soql.SoqlError("INVALID_FIELD", f"\n{text}\nERROR at Row:1:Column:1\nNo such column '{name}' on "
                                     f"entity '{query.object_name}'. If you are attempting to use a custom field, be "
                                     "sure to append the '__c' after the custom field name. Please reference your WSDL "
                                     "or the describe call for the appropriate names.")
        return query, known

    def run_query(self, text: str, *, include_deleted: bool) -> tuple[soql.Query, list[Record]]:
        query, known = self._compile(text)
        resolve = lambda name: known[name.lower()]  # noqa: E731
        started = time.monotonic()
        wanted = soql.predicate(query.where, resolve)
        with self.org.lock:
            rows = [r for r in self.org.objects[query.object_name].values()
                    if (include_deleted or not r.get("IsDeleted")) and wanted(r)]
        with self._lock:
            self.seconds_selecting += time.monotonic() - started
        for name, descending, nulls_last in reversed(query.order_by):
            key = resolve(name)
            # Snapshot dates and datetimes share one ISO shape, so their text sorts in time order.
            present = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r[key], reverse=descending)
            absent = [r for r in rows if r.get(key) is None]
            rows = present + absent if nulls_last else absent + present
        if query.limit is not None:
            rows = rows[: query.limit]
        return query, rows

    def query_response(self, text: str, *, include_deleted: bool, version: str) -> dict[str, Any]:
        query, rows = self.run_query(text, include_deleted=include_deleted)
        if query.is_count:
            return {"totalSize": len(rows) + self.count_offsets.get(query.object_name, 0), "done": True, "records": []}
        if query.aggregates:
            aggregate = _aggregate(query, rows, self.org.fields(query.object_name))
            return {"totalSize": 1, "done": True, "records": [aggregate]}
        known = self.org.fields(query.object_name)
        selected = [known[f.lower()] for f in query.fields]
        projected = [_project(query.object_name, r, selected, version) for r in rows]
        cursor_id = self._new_id("01g")
        with self._lock:
            self._cursors[cursor_id] = _Cursor(projected, query.object_name)
        return self.page(cursor_id, 0, version)

    def page(self, cursor_id: str, offset: int, version: str) -> dict[str, Any]:
        with self._lock:
            cursor = self._cursors.get(cursor_id)
        if cursor is None:
            raise _RequestRefused(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        end = offset + self.page_size
        response: dict[str, Any] = {"totalSize": len(cursor.records), "done": end >= len(cursor.records),
                                    "records": cursor.records[offset:end]}
        if not response["done"]:
            response["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
        return response

    def describe(self, object_name: str) -> dict[str, Any]:
        if object_name not in self.org.objects:
            raise _RequestRefused(404, "NOT_FOUND", f"The requested resource does not exist: {object_name}")
        return {"name": object_name, "queryable": True,
                "fields": list(self.org.describe_fields(object_name).values())}

    def create_bulk_job(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise _RequestRefused(400, "INVALIDJOB", f"Invalid operation: {operation}")
        query, rows = self.run_query(body.get("query", ""), include_deleted=operation == "queryAll")
        if query.is_count or query.aggregates:
            raise _RequestRefused(400, "API_ERROR", "Aggregate queries are not supported by Bulk API 2.0 queries")
        known = self.org.fields(query.object_name)
        job = _BulkJob(self._new_id("750"), operation, query.object_name, [known[f.lower()] for f in query.fields],
                       rows)
        with self._lock:
            self._jobs[job.job_id] = job
        return self.job_info(job.job_id, advance=False)

    def job_info(self, job_id: str, *, advance: bool = True) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise _RequestRefused(404, "NOT_FOUND", f"Job not found: {job_id}")
            if advance:
                job.polls += 1
        # The first poll sees the job still running, as a real org usually reports it.
        state = "UploadComplete" if not advance else ("InProgress" if job.polls < 2 else "JobComplete")
        return {"id": job.job_id, "operation": job.operation, "object": job.object_name, "state": state,
                "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF",
                "numberRecordsProcessed": len(job.records) if state == "JobComplete" else 0}

    def job_results(self, job_id: str, locator: str | None, max_records: int) -> tuple[str, str, int]:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise _RequestRefused(404, "NOT_FOUND", f"Job not found: {job_id}")
        offset = int(base64.urlsafe_b64decode(locator.encode()).decode()) if locator else 0
        rows = job.records[offset: offset + max_records]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(job.fields)
        for row in rows:
            writer.writerow([_csv_value(row.get(f)) for f in job.fields])
        end = offset + len(rows)
        next_locator = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(job.records) else "null"
        return out.getvalue(), next_locator, len(rows)

    def due_faults(self, path: str) -> list[Fault]:
        with self._lock:
            return [fault for fault in self.faults if fault.fires(path)]


def _project(object_name: str, record: Record, fields: list[str], version: str) -> Record:
    projected: Record = {"attributes": {"type": object_name,
                                        "url": f"/services/data/v{version}/sobjects/{object_name}/{record['Id']}"}}
    for name in fields:
        projected[name] = record.get(name)
    return projected


def _aggregate(query: soql.Query, rows: list[Record], known: dict[str, str]) -> Record:
    result: Record = {"attributes": {"type": "AggregateResult"}}
    for index, (function, name) in enumerate(query.aggregates):
        values = [Decimal(r[known[name.lower()]]) for r in rows if r.get(known[name.lower()]) is not None]
        if function == "COUNT":
            value: Any = Decimal(len(values))
        elif not values:
            value = None
        else:
            value = {"SUM": sum, "MIN": min, "MAX": max}[function](values)
        result[f"expr{index}"] = value
    return result


def _handler_for(standin: SalesforceStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                  cut: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if cut:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def _json(self, status: int, payload: Any, **kwargs: Any) -> None:
            self._send(status, dumps_exact(payload).encode(), "application/json;charset=UTF-8", **kwargs)

        def _error(self, status: int, error_code: str, message: str) -> None:
            if error_code in ("invalid_client", "unsupported_grant_type"):
                self._json(status, {"error": error_code, "error_description": message})
            else:
                self._json(status, [{"message": message, "errorCode": error_code}])

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            url = urlparse(self.path)
            standin.request_log.append(f"{method} {url.path}")
            cut = False
            try:
                if url.path == "/services/oauth2/token" and method == "POST":
                    form = {k: v[0] for k, v in parse_qs(raw_body.decode()).items()}
                    self._json(200, standin.issue_token(form))
                    return
                for fault in standin.due_faults(url.path + ("?" + url.query if url.query else "")):
                    if fault.kind == "slow":
                        time.sleep(fault.delay_seconds)
                    elif fault.kind == "expire_session":
                        standin.expire_sessions()
                    elif fault.kind == "cut":
                        cut = True
                    elif fault.status in _ERROR_BODIES:
                        raise _RequestRefused(fault.status, *_ERROR_BODIES[fault.status])
                    else:
                        self._send(fault.status, b"<html><body>Service Unavailable</body></html>", "text/html")
                        return
                standin.check_session(self.headers.get("Authorization"))
                self._route(method, url.path, parse_qs(url.query), raw_body, cut)
            except _RequestRefused as refused:
                self._error(refused.status, refused.error_code, refused.message)
            except soql.SoqlError as error:
                self._error(400, error.error_code, error.message)

        def _route(self, method: str, path: str, params: dict[str, list[str]], body: bytes, cut: bool) -> None:
            parts = path.strip("/").split("/")
            if len(parts) < 4 or parts[:2] != ["services", "data"] or not parts[2].startswith("v"):
                raise _RequestRefused(404, "NOT_FOUND", "The requested resource does not exist")
            version, rest = parts[2][1:], parts[3:]
            if rest[0] in ("query", "queryAll") and len(rest) == 1 and method == "GET":
                text = params.get("q", [""])[0]
                self._json(200, standin.query_response(text, include_deleted=rest[0] == "queryAll", version=version),
                           cut=cut)
            elif rest[0] in ("query", "queryAll") and len(rest) == 2 and method == "GET":
                cursor_id, _, offset = rest[1].partition("-")
                self._json(200, standin.page(cursor_id, int(offset or 0), version), cut=cut)
            elif rest[0] == "sobjects" and len(rest) == 3 and rest[2] == "describe":
                self._json(200, standin.describe(rest[1]), cut=cut)
            elif rest[:2] == ["jobs", "query"] and len(rest) == 2 and method == "POST":
                self._json(200, standin.create_bulk_job(json.loads(body or b"{}"), version), cut=cut)
            elif rest[:2] == ["jobs", "query"] and len(rest) == 3 and method == "GET":
                self._json(200, standin.job_info(rest[2]), cut=cut)
            elif rest[:2] == ["jobs", "query"] and len(rest) == 4 and rest[3] == "results":
                data, locator, count = standin.job_results(
                    rest[2], params.get("locator", [None])[0], int(params.get("maxRecords", ["50000"])[0]))
                self._send(200, data.encode(), "text/csv", {"Sforce-Locator": locator,
                                                           "Sforce-NumberOfRecords": str(count)}, cut=cut)
            else:
                raise _RequestRefused(404, "NOT_FOUND", "The requested resource does not exist")

    return Handler
