"""Airflow connections, read when a task runs (never at parse time)."""
from __future__ import annotations

from urllib.parse import quote

from revcert.extraction.salesforce_client import SalesforceCredentials
from revcert.orchestration import dag_settings


def warehouse_url() -> str:
    """The warehouse as a PostgreSQL URL, from the Airflow connection `revcert_warehouse`."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(dag_settings.WAREHOUSE_CONN_ID)
    credentials = quote(conn.login or "", safe="")
    if conn.password:
        credentials += ":" + quote(conn.password, safe="")
    return f"postgresql://{credentials}@{conn.host}:{conn.port or 5432}/{conn.schema or ''}"


def salesforce_credentials() -> SalesforceCredentials:
    return SalesforceCredentials.from_airflow_connection(dag_settings.SALESFORCE_CONN_ID)
