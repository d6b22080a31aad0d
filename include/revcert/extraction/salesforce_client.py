"""A Salesforce client: OAuth client-credentials login, paging, Bulk 2.0, retries.

simple-salesforce speaks the wire protocol; this adds what a certified
extraction needs around it: every JSON number parsed to Decimal, bounded
retries with backoff (tenacity) for transient faults, a fresh session when the
old one expires, and errors that say what went wrong in Salesforce's terms.
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
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
from revcert.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


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
                          session=self.http, parse_float=Decimal)

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

    def query_pages(self, soql: str, *, include_deleted: bool) -> Iterator[list[dict[str, Any]]]:
        """REST query (queryAll when `include_deleted`), one list of records per page."""
        page = self._call(lambda sf: sf.query(soql, include_deleted=include_deleted))
        while True:
            yield page["records"]
            if page["done"]:
                return
            next_url = page["nextRecordsUrl"]
            page = self._call(lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True))

    def _bulk(self, object_name: str) -> _Bulk2Client:
        # The public bulk2 generators cannot resume a results page after a transient
        # fault, so each Bulk 2.0 call goes through the client class, retried on its own.
        headers = {"Authorization": "Bearer " + self.sf.session_id, "X-PrettyPrint": "1"}
        return _Bulk2Client(object_name, self.sf.bulk2_url, headers, self.http)

    def bulk_pages(self, object_name: str, soql: str, *, include_deleted: bool) -> Iterator[list[dict[str, Any]]]:
        """Bulk API 2.0 query job, one list of CSV rows (empty cell = null) per results page."""
        operation = Operation.query_all if include_deleted else Operation.query
        job = self._call(lambda sf: self._bulk(object_name).create_job(operation, soql))
        self._call(lambda sf: self._bulk(object_name).wait_for_job(job["id"], True, wait=0.1))
        locator = ""
        while True:
            result = self._call(lambda sf, page=locator: self._bulk(object_name).get_query_results(
                job["id"], page, self.settings.bulk_page_size))
            rows = csv.DictReader(io.StringIO(result["records"]))
            yield [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]
            locator = result["locator"]
            if not locator:
                return
