"""Configuration read from the environment, with the methodology's defaults.

Secrets never live here: Salesforce, Slack and warehouse credentials come from
Airflow connections (or, outside Airflow, from the URL given on the command line).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Everything a run may be configured with.

    Attributes:
        home: Folder for local state (embedded PostgreSQL data, demo orgs).
        sql_dir: Folder holding the SQL models, one folder per layer.
        business_timezone: IANA name of the business timezone.
        business_unit_field: Account field that holds the business unit.
        renewal_grace_days: G of METHODOLOGY.md A3.
        salesforce_api_version: REST API version to speak.
        lookback_seconds: How far before the watermark an incremental read starts.
        bulk_threshold: Above this many records an object is read with Bulk API 2.0.
        page_size: Records per Bulk 2.0 results page asked for.
        request_timeout_seconds: Per HTTP request.
        retry_attempts: Attempts per request before a transient fault is final.
        extract_task_retries: Retries of the DAG's extract task (on top of the per-request retries).
        extract_retry_delay_seconds: First delay between extract task tries (it then doubles).
        lease_wait_seconds: How long a run waits for another run to release the warehouse.
        lease_stale_seconds: A lease not renewed for this long is taken over (its run crashed).
    """

    home: Path = field(default_factory=lambda: Path(_env("REVCERT_HOME", str(PROJECT_ROOT / ".revcert"))))
    sql_dir: Path = field(default_factory=lambda: Path(_env("REVCERT_SQL_DIR", str(PROJECT_ROOT / "sql"))))
    business_timezone: str = field(default_factory=lambda: _env("REVCERT_BUSINESS_TIMEZONE", "UTC"))
    business_unit_field: str = field(default_factory=lambda: _env("REVCERT_BUSINESS_UNIT_FIELD", "Business_Unit__c"))
    renewal_grace_days: int = field(default_factory=lambda: int(_env("REVCERT_RENEWAL_GRACE_DAYS", "31")))
    salesforce_api_version: str = field(default_factory=lambda: _env("REVCERT_SALESFORCE_API_VERSION", "62.0"))
    lookback_seconds: int = field(default_factory=lambda: int(_env("REVCERT_LOOKBACK_SECONDS", "300")))
    bulk_threshold: int = field(default_factory=lambda: int(_env("REVCERT_BULK_THRESHOLD", "50000")))
    page_size: int = field(default_factory=lambda: int(_env("REVCERT_BULK_PAGE_SIZE", "50000")))
    request_timeout_seconds: float = field(default_factory=lambda: float(_env("REVCERT_REQUEST_TIMEOUT", "60")))
    retry_attempts: int = field(default_factory=lambda: int(_env("REVCERT_RETRY_ATTEMPTS", "5")))
    extract_task_retries: int = field(default_factory=lambda: int(_env("REVCERT_EXTRACT_RETRIES", "3")))
    extract_retry_delay_seconds: float = field(
        default_factory=lambda: float(_env("REVCERT_EXTRACT_RETRY_DELAY_SECONDS", "30")))
    lease_wait_seconds: float = field(default_factory=lambda: float(_env("REVCERT_LEASE_WAIT_SECONDS", "7200")))
    lease_stale_seconds: float = field(default_factory=lambda: float(_env("REVCERT_LEASE_STALE_SECONDS", "10800")))
