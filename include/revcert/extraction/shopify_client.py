"""A Shopify Admin GraphQL client: one shop's orders, paged or in bulk, within Shopify's rate limits.

gql speaks GraphQL over HTTP; this adds what a certified extraction needs
around it: every JSON number parsed to Decimal (amounts are decimal strings
anyway), the cost-based rate limit honoured from each response's
`extensions.cost.throttleStatus` (waiting before the bucket runs dry, and
after a THROTTLED answer), bounded retries with backoff (tenacity) for
transient faults only, and errors that say what went wrong in Shopify's terms.
Each shop is reached with its own access token (a secret: never logged).
"""
from __future__ import annotations

import itertools
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

import requests
from gql import Client, gql
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from revcert.extraction.errors import SourceRefused, SourceUnavailable
from revcert.money import loads_exact
from revcert.settings import Settings

log = logging.getLogger(__name__)

API_VERSION = "2025-01"
# Orders per page and refund transactions per refund: a page costs about 2 + 25 x 22 points,
# far inside the 1,000-point budget of a query.
ORDERS_PER_PAGE = 25
TRANSACTIONS_PER_REFUND = 10
# Orders a bulk result is read into raw by at a time.
BULK_PAGE_SIZE = 1000

TRANSACTION_FIELDS = "id kind status amountSet { presentmentMoney { amount currencyCode } }"


def _order_fields(transactions: str) -> str:
    return f"""
    id name createdAt updatedAt processedAt test cancelledAt currencyCode presentmentCurrencyCode
    totalPriceSet {{ shopMoney {{ amount currencyCode }} presentmentMoney {{ amount currencyCode }} }}
    refunds {{ id createdAt {transactions} }}
"""


# A page asks for a bounded number of transactions per refund (the query's cost is counted from it) and
# whether there were more; a bulk operation reads every one (it is not cost-limited that way).
PAGED_ORDER_FIELDS = _order_fields(f"transactions(first: {TRANSACTIONS_PER_REFUND}) {{ edges {{ node {{ "
                                   f"{TRANSACTION_FIELDS} }} }} pageInfo {{ hasNextPage }} }}")
BULK_ORDER_FIELDS = _order_fields(f"transactions {{ edges {{ node {{ {TRANSACTION_FIELDS} }} }} }}")
SHOP_QUERY = gql("query Shop { shop { id name ianaTimezone currencyCode } }")
COUNT_QUERY = gql("query Count($query: String) { ordersCount(query: $query, limit: null) { count precision } }")
ORDERS_QUERY = gql(f"""
query Orders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    edges {{ node {{ {PAGED_ORDER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}""")
BULK_RUN = gql("""
mutation Bulk($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } }
}""")
BULK_POLL = gql("query Poll { currentBulkOperation { id status errorCode objectCount url } }")


def legacy_id(gid: str) -> str:
    """`gid://shopify/Order/123` -> `123`: the number Shopify's admin shows, and this project's id."""
    return gid.rsplit("/", 1)[-1]


class Throttled(Exception):
    """Shopify answered THROTTLED: the bucket is empty; wait `seconds` and ask again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"throttled for {seconds:.1f}s")
        self.seconds = seconds


@dataclass(frozen=True)
class ShopAccess:
    """How to reach one shop. `token` is a secret: never logged, never printed.

    Attributes:
        shop_gid: The shop's GraphQL id, e.g. gid://shopify/Shop/1001.
        endpoint: Its Admin GraphQL URL (https://<shop>.myshopify.com/admin/api/<version>/graphql.json).
        token: The shop's Admin API access token.
        ca_bundle: A CA bundle to trust instead of the system's (the stand-in's).
    """

    shop_gid: str
    endpoint: str
    token: str = field(repr=False)
    ca_bundle: str | None = None

    @property
    def shop_id(self) -> str:
        return legacy_id(self.shop_gid)


def shops_from_airflow_connection(conn_id: str) -> list[ShopAccess]:
    """Every shop an Airflow connection lists (see `shops_from_connection`)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return shops_from_connection(conn.host or "", conn.extra_dejson)


def shops_from_connection(host: str, extra: dict[str, Any]) -> list[ShopAccess]:
    """Every shop a Shopify connection lists.

    The connection (type http): host = the base URL shops are served from when
    a shop names no domain of its own; extra = {"api_version": "2025-01",
    "ca_bundle": optional, "shops": [{"id": "gid://shopify/Shop/1001",
    "token": "shpat_...", "domain": "acme.myshopify.com" (optional)}, ...]}.
    """
    version = extra.get("api_version", API_VERSION)
    base = host if "://" in host else f"https://{host}"
    shops = []
    for shop in extra.get("shops", []):
        root = f"https://{shop['domain']}" if shop.get("domain") else base.rstrip("/")
        shops.append(ShopAccess(shop["id"], f"{root}/admin/api/{version}/graphql.json", shop["token"],
                                extra.get("ca_bundle")))
    return shops


def is_transient(error: BaseException) -> bool:
    """Faults worth another try: network trouble, a cut answer, 5xx, 429, throttling."""
    if isinstance(error, (Throttled, TransportConnectionFailed, requests.ConnectionError, requests.Timeout,
                          requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(error, TransportServerError):
        return error.code is None or error.code >= 500 or error.code == 429
    # An answer that is not GraphQL at all (an HTML error page, a body cut short).
    return isinstance(error, TransportProtocolError)


def _raise_server_error(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Shopify answers a 5xx or a 429 with a JSON `errors` body, which gql would take for a refused query."""
    if response.status_code >= 500 or response.status_code == 429:
        raise TransportServerError(f"HTTP {response.status_code}", response.status_code)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("Shopify request failed (attempt %s), retrying: %s", state.attempt_number, error)


def _wait(state: RetryCallState) -> float:
    """Throttled: as long as the bucket needs; any other fault: exponential backoff with jitter."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, Throttled):
        return error.seconds
    return wait_exponential_jitter(initial=0.2, max=10)(state)


class ShopifyClient:
    """One shop's Admin GraphQL API with rate limiting and retries."""

    def __init__(self, access: ShopAccess, settings: Settings | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.access = access
        self.settings = settings or Settings()
        self.sleep = sleep
        self.clock = clock
        self.requests_sent = 0
        self.cost_spent = 0
        # What the last answer said of the bucket (points available, restored per second, when), and what
        # each kind of request was last charged: enough to wait before a request the bucket cannot pay.
        self._bucket: tuple[Decimal, Decimal, float] | None = None
        self._costs: dict[int, Decimal] = {}
        transport = RequestsHTTPTransport(
            url=access.endpoint, headers={"X-Shopify-Access-Token": access.token},
            verify=access.ca_bundle or True, timeout=int(self.settings.request_timeout), retries=0,
            json_deserialize=loads_exact)
        self._session = Client(transport=transport, fetch_schema_from_transport=False).connect_sync()
        transport.session.hooks["response"].append(_raise_server_error)

    def close(self) -> None:
        self._session.client.close_sync()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _note_cost(self, document: Any, extensions: dict[str, Any] | None) -> None:
        """Remember what the bucket holds now and what this kind of request costs."""
        cost = (extensions or {}).get("cost") or {}
        status = cost.get("throttleStatus")
        if cost.get("actualQueryCost") is not None:
            self.cost_spent += int(cost["actualQueryCost"])
        if cost.get("requestedQueryCost") is not None:
            self._costs[id(document)] = Decimal(cost["requestedQueryCost"])
        if status:
            self._bucket = (Decimal(status["currentlyAvailable"]), Decimal(status["restoreRate"]), self.clock())

    def _wait_for_bucket(self, document: Any) -> None:
        """Wait until the bucket, as last seen and restored since, can pay for a request like the last of
        this kind (Shopify's advice: never send what the bucket cannot pay)."""
        cost = self._costs.get(id(document))
        if cost is None or self._bucket is None:
            return
        available, restore_rate, seen_at = self._bucket
        now_available = available + restore_rate * Decimal(str(self.clock() - seen_at))
        if now_available < cost:
            self.sleep(float((cost - now_available) / restore_rate))

    def _retrying(self) -> Retrying:
        return Retrying(retry=retry_if_exception(is_transient), stop=stop_after_attempt(self.settings.retry_attempts),
                        wait=_wait, before_sleep=_log_retry, sleep=self.sleep, reraise=True)

    def _attempt(self, document: Any, variables: dict[str, Any]) -> dict[str, Any]:
        self._wait_for_bucket(document)
        self.requests_sent += 1
        try:
            result = self._session.execute(document, variable_values=variables, get_execution_result=True)
        except TransportQueryError as error:
            errors = error.errors if isinstance(error.errors, list) else [{"message": str(error.errors)}]
            throttled = [e for e in errors if (e.get("extensions") or {}).get("code") == "THROTTLED"]
            if throttled:
                self._note_cost(document, error.extensions)
                cost = (error.extensions or {}).get("cost") or {}
                status = cost.get("throttleStatus") or {}
                needed = Decimal(cost.get("requestedQueryCost", 100)) - Decimal(status.get("currentlyAvailable", 0))
                wait_seconds = max(needed, Decimal(1)) / Decimal(status.get("restoreRate", 50))
                raise Throttled(float(wait_seconds)) from error
            raise SourceRefused(f"Shopify refused the request for shop {self.access.shop_gid}: "
                                + "; ".join(str(e.get("message")) for e in errors)) from error
        self._note_cost(document, result.extensions)
        return result.data

    def execute(self, document: Any, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request, retried for transient faults; a refusal or an exhausted retry raises, named."""
        try:
            return self._retrying()(self._attempt, document, variables or {})
        except TransportServerError as error:
            if is_transient(error):
                raise SourceUnavailable(f"Shopify failed for shop {self.access.shop_gid} after "
                                        f"{self.settings.retry_attempts} attempts: HTTP {error.code}") from error
            raise SourceRefused(f"Shopify refused shop {self.access.shop_gid}: HTTP {error.code}") from error
        except (Throttled, TransportConnectionFailed, TransportProtocolError) as error:
            raise SourceUnavailable(f"Shopify unreachable for shop {self.access.shop_gid} after "
                                    f"{self.settings.retry_attempts} attempts: {error}") from error

    def shop(self) -> dict[str, Any]:
        return self.execute(SHOP_QUERY)["shop"]

    def orders_count(self, search: str | None = None) -> int:
        return int(self.execute(COUNT_QUERY, {"query": search})["ordersCount"]["count"])

    def order_pages(self, search: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every order matching a search, oldest update first, one page at a time."""
        cursor = None
        while True:
            variables = {"first": ORDERS_PER_PAGE, "after": cursor, "query": search}
            page = self.execute(ORDERS_QUERY, variables)["orders"]
            yield self._with_every_transaction([edge["node"] for edge in page["edges"]])
            if not page["pageInfo"]["hasNextPage"]:
                return
            cursor = page["pageInfo"]["endCursor"]

    def _with_every_transaction(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A page's orders, those with a refund of more transactions than a page holds read again whole."""
        truncated = [order["id"] for order in orders
                     if any(refund["transactions"]["pageInfo"]["hasNextPage"] for refund in order.get("refunds") or [])]
        if not truncated:
            return orders
        search = " OR ".join(f"id:{legacy_id(order_id)}" for order_id in truncated)
        whole = {order["id"]: order for page in self.bulk_order_pages(search) for order in page}
        missing = sorted(set(truncated) - set(whole))
        if missing:
            raise SourceUnavailable(f"shop {self.access.shop_gid}: orders {', '.join(map(legacy_id, missing))} went "
                                    "missing between a page and their whole read; read the shop again")
        return [whole.get(order["id"], order) for order in orders]

    def bulk_order_pages(self, search: str | None = None, page_size: int = BULK_PAGE_SIZE
                         ) -> Iterator[list[dict[str, Any]]]:
        """Every order matching a search through a bulk operation, reassembled from its JSONL, in pages.

        Shopify writes each order on a line of its own (refunds inline) and each
        refund transaction on a line carrying `__parentId` (its refund), after its
        order: they are put back where a paged query would have them. The result
        is downloaded whole to a temporary file first (a download cut short is
        read again from the start), then read a page at a time, so memory stays
        flat however many orders a shop has.
        """
        filter_text = f'(query: "{search}")' if search else ""
        bulk_query = f"{{ orders{filter_text} {{ edges {{ node {{ {BULK_ORDER_FIELDS} }} }} }} }}"
        started = self.execute(BULK_RUN, {"query": bulk_query})["bulkOperationRunQuery"]
        if started["userErrors"]:
            raise SourceRefused(f"Shopify refused the bulk operation for shop {self.access.shop_gid}: "
                                + "; ".join(e["message"] for e in started["userErrors"]))
        # Poll soon (a small operation is done in a moment), then less and less often.
        for wait_seconds in itertools.chain((0.05, 0.1, 0.2, 0.5, 1.0), itertools.repeat(2.0)):
            operation = self.execute(BULK_POLL)["currentBulkOperation"]
            if operation["status"] == "COMPLETED":
                break
            if operation["status"] in ("FAILED", "CANCELED", "EXPIRED"):
                raise SourceUnavailable(f"Shopify's bulk operation for shop {self.access.shop_gid} ended "
                                        f"{operation['status']} ({operation.get('errorCode')})")
            self.sleep(wait_seconds)
        if not operation["url"]:
            return
        with tempfile.TemporaryFile() as result:
            self._download(operation["url"], result)
            result.seek(0)
            yield from _reassembled_pages(result, page_size, self.access.shop_gid)

    def _download(self, url: str, into: BinaryIO) -> None:
        def fetch() -> None:
            self.requests_sent += 1
            into.seek(0)
            into.truncate()
            with requests.get(url, timeout=self.settings.request_timeout, verify=self.access.ca_bundle or True,
                              stream=True) as response:
                if response.status_code >= 500:
                    raise TransportServerError(f"HTTP {response.status_code}", response.status_code)
                if response.status_code != 200:
                    raise SourceRefused(f"Shopify's bulk result for shop {self.access.shop_gid}: HTTP "
                                        f"{response.status_code}")
                for chunk in response.iter_content(chunk_size=1 << 20):
                    into.write(chunk)

        try:
            self._retrying()(fetch)
        except (TransportServerError, requests.RequestException) as error:
            raise SourceUnavailable(f"Shopify's bulk result for shop {self.access.shop_gid} could not be read: "
                                    f"{error}") from error


def _reassembled_pages(lines: Iterable[bytes], page_size: int, shop_gid: str) -> Iterator[list[dict[str, Any]]]:
    """Bulk JSONL lines -> pages of orders shaped as a paged query returns them. A page ends only where an
    order begins, so every transaction joins its refund in the same page."""
    page: list[dict[str, Any]] = []
    refunds: dict[str, dict[str, Any]] = {}
    for text in lines:
        if not text.strip():
            continue
        line = loads_exact(text)
        if "__parentId" in line:
            parent = refunds.get(line["__parentId"])
            if parent is None:
                raise SourceUnavailable(f"Shopify's bulk result for shop {shop_gid} has a transaction of refund "
                                        f"{line['__parentId']} before or far from its order; read the shop again")
            parent["transactions"]["edges"].append({"node": {k: v for k, v in line.items() if k != "__parentId"}})
            continue
        if len(page) >= page_size:
            yield page
            page, refunds = [], {}
        for refund in line.get("refunds") or []:
            refund["transactions"] = {"edges": []}
            refunds[refund["id"]] = refund
        page.append(line)
    if page:
        yield page
