"""Where the warehouse is, and connections to it.

The URL comes from, in order: an explicit argument, `REVCERT_DATABASE_URL`, the
Airflow connection `revcert_warehouse` (when one is defined), else the embedded
server under `REVCERT_HOME`, started on demand.
"""
from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import psycopg

from revcert.settings import Settings
from revcert.warehouse.embedded import EmbeddedPostgres

WAREHOUSE_CONN_ID = os.environ.get("REVCERT_WAREHOUSE_CONN_ID", "revcert_warehouse")
WAREHOUSE_DATABASE = "revcert"


def embedded_server(settings: Settings | None = None) -> EmbeddedPostgres:
    settings = settings or Settings()
    return EmbeddedPostgres(settings.home / "pgdata")


def ensure_database(server_url: str, database: str) -> None:
    """Create `database` on the server at `server_url` if it does not exist."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(database)))


def warehouse_url(explicit: str | None = None, settings: Settings | None = None) -> str:
    """Resolve the warehouse URL (see the module docstring for the order)."""
    if explicit:
        return explicit
    if os.environ.get("REVCERT_DATABASE_URL"):
        return os.environ["REVCERT_DATABASE_URL"]
    if os.environ.get(f"AIRFLOW_CONN_{WAREHOUSE_CONN_ID.upper()}"):
        return airflow_warehouse_url()
    server = embedded_server(settings)
    server.start()
    ensure_database(server.url(), WAREHOUSE_DATABASE)
    return server.url(WAREHOUSE_DATABASE)


def airflow_warehouse_url() -> str:
    """The warehouse URL from the Airflow connection (environment, metadata database or secrets backend)."""
    from airflow.models.connection import Connection

    return url_from_connection(Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID))


def url_from_connection(conn: Any) -> str:
    """A PostgreSQL URL from an Airflow connection's host, port, login, password and schema."""
    credentials = quote(conn.login or "", safe="")
    if conn.password:
        credentials += ":" + quote(conn.password, safe="")
    return f"postgresql://{credentials}@{conn.host}:{conn.port or 5432}/{conn.schema or ''}"


def sqlalchemy_url(url: str) -> str:
    """The same database as a SQLAlchemy URL using the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")
