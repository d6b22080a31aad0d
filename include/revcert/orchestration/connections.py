"""Airflow connections, read when a task runs (never at parse time)."""
from __future__ import annotations

from revcert.extraction.salesforce_client import SalesforceCredentials
from revcert.orchestration import dag_settings
from revcert.warehouse.database import WAREHOUSE_CONN_ID, url_from_connection


def warehouse_url() -> str:
    """The warehouse as a PostgreSQL URL, from the Airflow connection `revcert_warehouse`."""
    from airflow.sdk import BaseHook

    return url_from_connection(BaseHook.get_connection(WAREHOUSE_CONN_ID))


def salesforce_credentials() -> SalesforceCredentials:
    return SalesforceCredentials.from_airflow_connection(dag_settings.SALESFORCE_CONN_ID)
