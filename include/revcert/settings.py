"""Every `REVCERT_*` setting, read once from the environment by pydantic-settings.

Secrets never live here: Salesforce, Shopify, Slack and warehouse credentials
come from Airflow connections (or, outside Airflow, from the URL given on the
command line). What is here is behaviour: the methodology's parameters, how
patiently a run talks to its sources, and where local state goes.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of a run; each field is the environment variable `REVCERT_<NAME>`.

    Attributes:
        home: Folder for local state (embedded PostgreSQL data, demo sources, local Airflow homes).
        database_url: The warehouse outside Airflow (any libpq URL); empty: the Airflow connection or embedded.
        business_timezone: IANA name of the business timezone (METHODOLOGY.md conventions).
        business_unit_field: Account field that holds the business unit.
        renewal_grace_days: G of METHODOLOGY.md A3.
        overrides_file: Classification overrides; empty: the file shipped with the package.
        shop_settings_file: Per-shop refund attribution; empty: the file shipped with the package.
        monitoring_thresholds_file: Monitoring's thresholds per metric; empty: the file shipped with the package.
        salesforce_api_version: REST API version to speak.
        lookback_seconds: How far before the watermark an incremental read starts.
        bulk_threshold: Above this many records due, an object is read with Bulk API 2.0.
        bulk_page_size: Records per Bulk 2.0 results page.
        shopify_bulk_threshold: Above this many orders due, a shop is read with a bulk operation.
        request_timeout: Seconds per HTTP request to a source.
        retry_attempts: Attempts per source request before a transient fault is final.
        extract_retries: Retries of an extract task after a transient fault (exponential backoff).
        extract_retry_delay_seconds: First delay between extract task tries (it then doubles).
        lease_wait_seconds: How long a run waits for another run to release the warehouse.
        lease_heartbeat_seconds: How often a working run confirms it still holds the warehouse.
        lease_stale_seconds: A holder silent this long is gone unless Airflow says its run still runs.
        lease_orphan_seconds: A holder silent this long is gone whatever Airflow says.
        statement_timeout_seconds: Longest single mart or certification statement.
        derivation_processes: Processes the independent derivation may split a large org's customers between
            (the second and later are forked copies of the certifying task's process, each holding about as much
            memory again as the org).
        connect_timeout_seconds: How long to try to reach PostgreSQL before saying it cannot.
        warehouse_conn_id: Airflow connection of the warehouse (the pipelines' login).
        viz_conn_id: Airflow connection of the read-only login the page and API use.
        salesforce_conn_id: Airflow connection of the Salesforce org.
        shopify_conn_id: Airflow connection listing the Shopify shops and their tokens.
        slack_conn_id: Airflow connection of the on-call Slack incoming webhook.
        viz_password: Password `revcert db viz-login` gives the page's read-only login.
        extraction_queue: Celery queue of the tasks that read a source (network-bound).
        warehouse_queue: Celery queue of the tasks that work on the warehouse (database-bound).
    """

    model_config = SettingsConfigDict(env_prefix="REVCERT_", frozen=True, extra="ignore")

    home: Path = Path(".revcert")
    database_url: str | None = None
    business_timezone: str = "UTC"
    business_unit_field: str = "Business_Unit__c"
    renewal_grace_days: int = Field(31, ge=0)
    overrides_file: Path | None = None
    shop_settings_file: Path | None = None
    monitoring_thresholds_file: Path | None = None
    salesforce_api_version: str = "62.0"
    lookback_seconds: int = Field(300, ge=0)
    bulk_threshold: int = Field(50_000, ge=0)
    bulk_page_size: int = Field(50_000, gt=0)
    shopify_bulk_threshold: int = Field(250, ge=0)
    request_timeout: float = Field(60, gt=0)
    retry_attempts: int = Field(5, ge=1)
    extract_retries: int = Field(3, ge=0)
    extract_retry_delay_seconds: float = Field(30, ge=0)
    lease_wait_seconds: float = Field(7200, ge=0)
    lease_heartbeat_seconds: float = Field(10, gt=0)
    lease_stale_seconds: float = Field(60, gt=0)
    lease_orphan_seconds: float = Field(1800, gt=0)
    statement_timeout_seconds: int = Field(900, gt=0)
    derivation_processes: int = Field(1, ge=1)
    connect_timeout_seconds: int = Field(10, gt=0)
    warehouse_conn_id: str = "revcert_warehouse"
    viz_conn_id: str = "revcert_viz"
    salesforce_conn_id: str = "salesforce_default"
    shopify_conn_id: str = "shopify_default"
    slack_conn_id: str = "slack_oncall"
    viz_password: SecretStr | None = None
    extraction_queue: str = "extraction"
    warehouse_queue: str = "warehouse"

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA timezone name") from None
        return name


def from_environment() -> Settings:
    """The settings the environment gives now, built once per distinct set of `REVCERT_*` variables.

    Reading and validating every field costs more than a round trip to the warehouse, and a run that
    connects once per step and shop would spend more on it than on its queries.
    """
    return _settings_of(frozenset((name.upper(), value) for name, value in os.environ.items()
                                  if name.upper().startswith("REVCERT_")))


@lru_cache(maxsize=16)
def _settings_of(environment: frozenset[tuple[str, str]]) -> Settings:
    return Settings()
