"""Where the API server finds the warehouse: the Airflow connection, read when a request comes."""
from __future__ import annotations

from revcert.orchestration import dag_settings
from revcert.warehouse.database import url_from_connection


def viz_url() -> str:
    """The warehouse URL from the Airflow connection `revcert_warehouse` (any secrets backend)."""
    from airflow.models.connection import Connection

    return url_from_connection(Connection.get_connection_from_secrets(dag_settings.WAREHOUSE_CONN_ID))
