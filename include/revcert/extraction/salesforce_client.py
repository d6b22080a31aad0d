"""A Salesforce client: OAuth client-credentials login, paging, Bulk 2.0, retries.

simple-salesforce speaks the wire protocol; this adds what a certified
extraction needs around it: every JSON number parsed to Decimal, bounded
retries with backoff (tenacity) for transient faults, a fresh session when the
old one expires, and errors that say what went wrong in Salesforce's terms.
Query pages keep the text they were parsed from: raw stores records as sent.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from revcert.extraction.errors import SourceRefused, SourceUnavailable
from revcert.extraction.salesforce_objects import DistinctValues
from revcert.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
# simple-salesforce sleeps this long before its first poll of a Bulk 2.0 job, then adds an exponential
# backoff that soon dominates: a small job is not held back, a long one is polled about as often.
_FIRST_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class SalesforceCredentials:
    """How to reach an org. `client_secret` is a secret: never logged, never printed.

    Attributes:
        instance_url: The org's My Domain URL, e.g. https://acme.my.salesforce.com.
        client_id: The connected app's consumer key (client-credentials flow).
        client_secret: The connected app's consumer secret.
        ca_bundle: A CA bundle to trust instead of the system's (the stand-in's).
    """

    instance_url: str
    client_id: str
    client_secret: str = field(repr=False)
    ca_bundle: str | None = None

    @classmethod
    def from_airflow_connection(cls, conn_id: str) -> SalesforceCredentials:
        """Read an Airflow connection: host = instance URL, login/password = client id/secret,
        extra `ca_bundle` optional."""
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        host = conn.host if "://" in (conn.host or "") else f"https://{conn.host}"
        if conn.port:
            host = f"{host}:{conn.port}"
        return cls(instance_url=host, client_id=conn.login, client_secret=conn.password,
                   ca_bundle=conn.extra_dejson.get("ca_bundle"))


def is_transient(error: BaseException) -> bool:
    """Faults worth another try: network trouble, 5xx, rate limits, an expired session."""
    if isinstance(error, requests.exceptions.SSLError):
        return False
    if isinstance(error, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return True
    if isinstance(error, SalesforceExpiredSession):
        return True
    if isinstance(error, SalesforceGeneralError):
        return error.status >= 500
    if isinstance(error, SalesforceRefusedRequest):
        return "REQUEST_LIMIT_EXCEEDED" in str(error.content)
    return False


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("Salesforce request failed (attempt %s), retrying: %s", state.attempt_number, error)


def salesforce_error_message(error: SalesforceError) -> str:
    """Salesforce's own errorCode and message, without the request's headers."""
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return "; ".join(f"{item.get('errorCode')}: {item.get('message')}" for item in content)
    return f"HTTP {error.status}: {content}"


class _TimeoutSession(requests.Session):
    """A requests session with a default timeout, so no call (Bulk 2.0's included) can hang.

    It also passes its own `verify` on every request: otherwise requests lets
    REQUESTS_CA_BUNDLE from the environment override the session's CA bundle.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, *args, **kwargs)


class SalesforceClient:
    """One logged-in session with retries; renews itself when the session expires."""

    def __init__(self, credentials: SalesforceCredentials, settings: Settings | None = None) -> None:
        self.credentials = credentials
        self.settings = settings or Settings()
        self.http = _TimeoutSession(self.settings.request_timeout)
        if credentials.ca_bundle:
            self.http.verify = credentials.ca_bundle
        self.requests_sent = 0
        self.sf: Salesforce = self._retrying(self._login)

    def _login(self) -> Salesforce:
        response = self.http.post(
            f"{self.credentials.instance_url.rstrip('/')}/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": self.credentials.client_id,
                  "client_secret": self.credentials.client_secret},
        )
        if response.status_code >= 500:
            response.raise_for_status()
        if response.status_code != 200:
            raise SourceRefused(f"Salesforce login refused: HTTP {response.status_code} {response.text[:300]}")
        token = response.json()
        return Salesforce(instance_url=token.get("instance_url", self.credentials.instance_url),
                          session_id=token["access_token"], version=self.settings.salesforce_api_version,
                          session=self.http, parse_float=Decimal, object_pairs_hook=None)

    def _retrying(self, call: Callable[[], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.settings.retry_attempts),
            wait=wait_exponential_jitter(initial=0.2, max=10),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            return retrying(call)
        except SalesforceMalformedRequest as error:
            raise SourceRefused(salesforce_error_message(error)) from error
        except SalesforceError as error:
            failure = SourceUnavailable if is_transient(error) else SourceRefused
            attempts = f"after {self.settings.retry_attempts} attempts" if is_transient(error) else "(not retried)"
            raise failure(f"Salesforce request failed {attempts}: {salesforce_error_message(error)}") from error
        except requests.exceptions.SSLError as error:
            raise SourceRefused(f"Salesforce's certificate was refused: {error}") from error
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            raise SourceUnavailable(
                f"Salesforce unreachable after {self.settings.retry_attempts} attempts: {error}") from error

    def _call(self, request: Callable[[Salesforce], T]) -> T:
        """Send one request with retries; an expired session is renewed before the next try."""

        def attempt() -> T:
            self.requests_sent += 1
            try:
                return request(self.sf)
            except SalesforceExpiredSession:
                log.info("Salesforce session expired; logging in again")
                self.sf = self._login()
                raise

        return self._retrying(attempt)

    def describe_fields(self, object_name: str) -> dict[str, dict[str, Any]]:
        """The object's fields as the org describes them: name -> type, precision, scale, length."""
        described = self._call(lambda sf: getattr(sf, object_name).describe())
        return {f["name"]: f for f in described["fields"]}

    def count(self, soql: str, *, include_deleted: bool = False) -> int:
        result = self._call(lambda sf: sf.query(soql, include_deleted=include_deleted))
        return int(result["totalSize"])

    def aggregate(self, soql: str) -> dict[str, Any]:
        result = self._call(lambda sf: sf.query(soql))
        return dict(result["records"][0]) if result["records"] else {}

    def query_pages(self, soql: str, *, include_deleted: bool) -> Iterator[RestPage]:
        """REST query (queryAll when `include_deleted`), one page at a time."""
        # simple-salesforce's query() returns only the parse; its request and parse, called
        # apart, keep the text too.
        def get(sf: Salesforce, url: str, params: dict[str, str] | None = None) -> RestPage:
            response = sf._call_salesforce("GET", url, name="query", params=params)
            return RestPage(sf.parse_result_to_json(response), response.text)

        verb = "queryAll/" if include_deleted else "query/"
        page = self._call(lambda sf: get(sf, sf.base_url + verb, {"q": soql}))
        while True:
            yield page
            if page.body["done"]:
                return
            next_url = page.body["nextRecordsUrl"]
            page = self._call(lambda sf, url=next_url: get(sf, f"https://{sf.sf_instance}{url}"))

    def _bulk(self, object_name: str) -> _Bulk2Client:
        # The public bulk2 generators cannot resume a results page after a transient
        # fault, so each Bulk 2.0 call goes through the client class, retried on its own.
        headers = {"Authorization": "Bearer " + self.sf.session_id, "X-PrettyPrint": "1"}
        return _Bulk2Client(object_name, self.sf.bulk2_url, headers, self.http)

    def bulk_pages(self, object_name: str, soql: str, *, include_deleted: bool) -> Iterator[BulkPage]:
        """Bulk API 2.0 query job, one results page at a time."""
        operation = Operation.query_all if include_deleted else Operation.query
        job = self._call(lambda sf: self._bulk(object_name).create_job(operation, soql))
        self._call(lambda sf: self._bulk(object_name).wait_for_job(job["id"], True, wait=_FIRST_POLL_SECONDS))
        locator = ""
        while True:
            result = self._call(lambda sf, page=locator: self._bulk(object_name).get_query_results(
                job["id"], page, self.settings.bulk_page_size))
            yield BulkPage(result["records"])
            locator = result["locator"]
            if not locator:
                return


@dataclass(frozen=True)
class RestPage:
    """One REST query page: the response parsed (numbers as Decimal) and the JSON text it was parsed from."""

    body: dict[str, Any]
    text: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.body["records"]

    def distinct(self, name: str) -> DistinctValues:
        """The field's distinct values in the page, each with its type (True and 1 are not one value here)."""
        return DistinctValues.of([record.get(name) for record in self.records])


@dataclass(frozen=True)
class BulkPage:
    """One Bulk 2.0 results page: its CSV text (a header, then one line per record; an empty cell is null),
    read into lines when first asked."""

    text: str

    @cached_property
    def rows(self) -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.text)))

    @property
    def header(self) -> list[str]:
        return self.rows[0] if self.rows else []

    @property
    def records(self) -> list[dict[str, Any]]:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(io.StringIO(self.text))]

    @property
    def is_plain(self) -> bool:
        """PostgreSQL's COPY reads the text exactly as csv.DictReader does: a header of distinct names short
        enough to be column names, one cell per column on every line, no carriage return."""
        return (bool(self.header) and len(set(self.header)) == len(self.header)
                and all(len(name.encode()) < 64 for name in self.header)
                and set(map(len, self.rows[1:])) <= {len(self.header)} and "\r" not in self.text)

    @cached_property
    def _columns(self) -> dict[str, tuple[str, ...]]:
        return dict(zip(self.header, zip(*self.rows[1:]))) if len(self.rows) > 1 else {}

    def distinct(self, name: str) -> DistinctValues:
        """The field's distinct values in the page, null for an empty cell (or a column the page lacks)."""
        if name not in self._columns:
            return DistinctValues(set(), has_null=len(self.rows) > 1)
        texts = set(self._columns[name])
        has_null = "" in texts
        texts.discard("")
        return DistinctValues(texts, has_null)
