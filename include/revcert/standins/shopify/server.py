"""The Shopify stand-in: a shop snapshot served over HTTPS on loopback, many shops at once.

It speaks the parts of the Admin GraphQL API this project uses:
- `POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token`; the
  token says which shop is asking (each shop has its own). A missing, unknown
  or revoked token gets Shopify's 401.
- `shop`, `orders` (cursor paging, search syntax in `query`, `sortKey`,
  `reverse`), `ordersCount`, and bulk operations (`bulkOperationRunQuery`,
  `currentBulkOperation`, a signed URL to a JSONL file, served without a token).
- Cost-based throttling: every answer carries `extensions.cost`; a leaky bucket
  per shop (1000 points, 50 restored a second by default); an empty bucket gets
  `THROTTLED`, a query dearer than the whole bucket `MAX_COST_EXCEEDED`.

Tests and demos steer it from Python: injectable faults (the nth matching
request fails with a status, is cut short, is slow, finds its bucket empty or
its token revoked), and live edits through `store` that move `updatedAt`.
The bucket's clock can be replaced, so throttling tests never sleep.
"""
from __future__ import annotations

import functools
import http
import json
import re
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import trustme
from graphql import DocumentNode, GraphQLError, execute_sync, parse, validate

from revcert.money import dumps_exact
from revcert.snapshots.shopify_snapshot import Record
from revcert.standins.shopify.bulk import BulkOperation, BulkOperations
from revcert.standins.shopify.cost import actual_cost, requested_cost
from revcert.standins.shopify.schema import RequestContext, admin_schema
from revcert.standins.shopify.store import ShopifyStore

__all__ = ["API_VERSION", "CostBucket", "Fault", "ShopifyStandIn", "ShopifyStore"]

API_VERSION = "2025-01"
BUCKET_SIZE = 1000
RESTORE_RATE = 50
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"

_GRAPHQL_PATH = re.compile(r"/admin/api/(?P<version>\d{4}-\d{2}|unstable)/graphql\.json")
_BULK_PATH = re.compile(r"/bulk-operations/bulk-(?P<number>\d+)\.jsonl")

FaultKind = Literal["status", "throttle", "cut", "slow", "revoke_token"]


@dataclass
class Fault:
    """A planned failure.

    Attributes:
        kind: `status` (answer with `status`), `throttle` (the shop's bucket is emptied
            first, so the request is THROTTLED), `cut` (send half the body, then close),
            `slow` (wait `delay_seconds` first), `revoke_token` (the shop's token stops
            working from this request on).
        nth: Fire on the nth matching request.
        times: How many matching requests in a row it fires on; None = forever.
        status: The HTTP status of a `status` fault.
        delay_seconds: The wait of a `slow` fault.
        shop_id: Only requests of this shop match (None: any shop).
        path_contains: Only requests whose path contains this match ("/bulk-operations/" for
            result downloads).
    """

    kind: FaultKind
    nth: int = 1
    times: int | None = 1
    status: int = 503
    delay_seconds: float = 0.0
    shop_id: str | None = None
    path_contains: str = "/graphql.json"
    seen: int = 0
    fired: int = 0

    def fires(self, path: str, shop_id: str | None) -> bool:
        if self.path_contains not in path or (self.shop_id is not None and self.shop_id != shop_id):
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


class CostBucket:
    """A shop's leaky bucket of query-cost points, counted in thousandths so restoring stays exact."""

    def __init__(self, size: int, restore_rate: int, clock: Callable[[], int]) -> None:
        self.size = size
        self.restore_rate = restore_rate
        self.clock = clock
        self._millipoints = size * 1000
        self._last = clock()

    def _restore(self) -> None:
        now = self.clock()
        # Nanoseconds x points per second / 10^6 = thousandths of a point.
        gained = (now - self._last) * self.restore_rate // 1_000_000
        if gained:
            self._millipoints = min(self.size * 1000, self._millipoints + gained)
            self._last = now

    def take(self, points: int) -> bool:
        """Take `points` if the bucket holds them; False (and nothing taken) if not."""
        self._restore()
        if self._millipoints < points * 1000:
            return False
        self._millipoints -= points * 1000
        return True

    def give_back(self, points: int) -> None:
        self._millipoints = min(self.size * 1000, self._millipoints + points * 1000)

    def empty(self) -> None:
        self._restore()
        self._millipoints = 0

    def status(self) -> dict[str, int]:
        self._restore()
        return {"maximumAvailable": self.size, "currentlyAvailable": self._millipoints // 1000,
                "restoreRate": self.restore_rate}


class ShopifyStandIn:
    """Serve a store over HTTPS on 127.0.0.1. Use as a context manager, or start()/stop().

    Attributes:
        tokens: Each shop's access token (shop GID -> token).
        request_log: "METHOD path" of every request, with " shop=<gid>" when a token named a shop.
        ca_bundle: The PEM file of the CA that signed the server's certificate (trust it to connect).
    """

    def __init__(self, store: ShopifyStore, *, port: int = 0, state_dir: Path | None = None,
                 bucket_size: int = BUCKET_SIZE, restore_rate: int = RESTORE_RATE,
                 clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.store = store
        self.tokens: dict[str, str] = {shop_id: "shpat_" + secrets.token_hex(16) for shop_id in store.shops}
        self.revoked: set[str] = set()
        self.buckets = {shop_id: CostBucket(bucket_size, restore_rate, clock) for shop_id in store.shops}
        self.faults: list[Fault] = []
        self.request_log: list[str] = []
        self._lock = threading.Lock()
        self._state_dir = Path(state_dir or tempfile.mkdtemp(prefix="shopify-standin-"))
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_bundle = self._state_dir / "standin-ca.pem"
        self.bulk = BulkOperations(store, self._state_dir, self._bulk_url)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "stand-in not started"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def graphql_url(self, version: str = API_VERSION) -> str:
        return f"{self.url}/admin/api/{version}/graphql.json"

    def start(self) -> ShopifyStandIn:
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
                                        name="shopify-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.bulk.stop()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ShopifyStandIn:
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

    def revoke_token(self, shop_id: str) -> None:
        """The shop's token stops working (as when a merchant uninstalls the app)."""
        with self._lock:
            self.revoked.add(self.tokens[shop_id])

    def empty_bucket(self, shop_id: str) -> None:
        """Spend the shop's whole bucket, as another app sharing it might."""
        with self._lock:
            self.buckets[shop_id].empty()

    def airflow_connection(self) -> str:
        """The stand-in as an Airflow connection (JSON form): every shop with its token, trusting its own CA."""
        return json.dumps({"conn_type": "http", "host": self.url,
                           "extra": {"api_version": API_VERSION, "ca_bundle": str(self.ca_bundle),
                                     "shops": [{"id": shop_id, "token": token}
                                               for shop_id, token in self.tokens.items()]}})

    # -- answering -------------------------------------------------------------------------

    def shop_for_token(self, token: str | None) -> str | None:
        """The shop a token belongs to (revoked tokens included), or None."""
        return next((shop_id for shop_id, known in self.tokens.items() if token and known == token), None)

    def due_faults(self, path: str, shop_id: str | None) -> list[Fault]:
        with self._lock:
            return [fault for fault in self.faults if fault.fires(path, shop_id)]

    def token_valid(self, token: str | None) -> bool:
        with self._lock:
            return self.shop_for_token(token) is not None and token not in self.revoked

    def _cost(self, shop_id: str, requested: int, actual: int | None) -> dict[str, Any]:
        with self._lock:
            throttle = self.buckets[shop_id].status()
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": throttle}}

    def answer(self, shop_id: str, body: bytes) -> tuple[int, Record]:
        """Run one GraphQL request for a shop: (HTTP status, JSON payload)."""
        try:
            request = json.loads(body or b"null", parse_constant=_refuse_constant)
        except ValueError as error:
            return 400, {"errors": f"request body is not JSON: {error}"}
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}
        variables = request.get("variables") or {}
        operation_name = request.get("operationName")
        if not isinstance(variables, dict):
            return 400, {"errors": {"variables": "must be a JSON object"}}
        schema = admin_schema()
        document, errors = _parsed(request["query"])
        if errors:
            return 200, {"errors": errors, "extensions": self._cost(shop_id, 0, 0)}
        requested = requested_cost(schema, document, variables, operation_name)
        bucket = self.buckets[shop_id]
        if requested > bucket.size:
            message = (f"Query cost is {requested}, which exceeds the single query max cost limit ({bucket.size}).")
            return 200, {"errors": [{"message": message, "extensions": {
                "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": bucket.size}}],
                "extensions": self._cost(shop_id, requested, None)}
        with self._lock:
            taken = bucket.take(requested)
        if not taken:
            return 200, {"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                "extensions": self._cost(shop_id, requested, None)}
        context = RequestContext(self.store, shop_id, bulk=self.bulk)
        result = execute_sync(schema, document, context_value=context, variable_values=variables,
                              operation_name=operation_name)
        actual = actual_cost(schema, document, result.data, operation_name)
        with self._lock:
            bucket.give_back(max(0, requested - actual))
        payload: Record = dict(result.formatted)
        payload["extensions"] = self._cost(shop_id, requested, actual)
        return 200, payload

    def _bulk_url(self, operation: BulkOperation) -> str:
        return f"{self.url}/bulk-operations/{operation.path.name}?signature={operation.signature}"


@functools.lru_cache(maxsize=256)
def _parsed(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]]]:
    """A query parsed and validated once, however often it is sent (a client pages with one query)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, [error.formatted]
    return document, [e.formatted for e in validate(admin_schema(), document)]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _handler_for(standin: ShopifyStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without this each answer waits ~40 ms for a delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _head(self, status: int, content_type: str, length: int, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                  cut: bool = False) -> None:
            self._head(status, content_type, len(body), headers)
            if cut:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

        def _json(self, status: int, payload: Any, **kwargs: Any) -> None:
            self._send(status, dumps_exact(payload).encode(), "application/json; charset=utf-8", **kwargs)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlparse(self.path)
            graphql_path = _GRAPHQL_PATH.fullmatch(url.path)
            bulk_path = _BULK_PATH.fullmatch(url.path)
            if graphql_path and method == "POST":
                shop_id = standin.shop_for_token(self.headers.get("X-Shopify-Access-Token"))
            elif bulk_path and method == "GET":
                operation = standin.bulk.operations.get(int(bulk_path.group("number")))
                shop_id = operation.shop_id if operation else None
            else:
                standin.request_log.append(f"{method} {url.path}")
                self._json(404, {"errors": "Not Found"})
                return
            standin.request_log.append(f"{method} {url.path}" + (f" shop={shop_id}" if shop_id else ""))
            cut = False
            for fault in standin.due_faults(url.path, shop_id):
                if fault.kind == "slow":
                    time.sleep(fault.delay_seconds)  # the fault is the delay itself, not a wait for a server
                elif fault.kind == "cut":
                    cut = True
                elif fault.kind == "revoke_token" and shop_id:
                    standin.revoke_token(shop_id)
                elif fault.kind == "throttle" and shop_id:
                    standin.empty_bucket(shop_id)
                elif fault.kind == "status":
                    self._json(fault.status, {"errors": http.HTTPStatus(fault.status).phrase})
                    return
            if bulk_path:
                self._bulk_file(int(bulk_path.group("number")), parse_qs(url.query), cut)
                return
            assert graphql_path is not None
            if not standin.token_valid(self.headers.get("X-Shopify-Access-Token")) or shop_id is None:
                self._json(401, {"errors": INVALID_TOKEN})
                return
            status, payload = standin.answer(shop_id, body)
            self._json(status, payload, headers={"X-Shopify-API-Version": graphql_path.group("version")}, cut=cut)

        def _bulk_file(self, number: int, params: dict[str, list[str]], cut: bool) -> None:
            operation = standin.bulk.result_file(number, params.get("signature", [""])[0])
            if operation is None:
                self._send(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
                return
            size = operation.path.stat().st_size
            self._head(200, "application/jsonl", size)
            with operation.path.open("rb") as source:
                if cut:
                    self.wfile.write(source.read(size // 2))
                    self.wfile.flush()
                    self.close_connection = True
                    return
                shutil.copyfileobj(source, self.wfile)

    return Handler
