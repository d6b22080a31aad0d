"""Where the warehouse is, and the one way to connect to it.

The warehouse is a libpq connection string (a URL or `key=value` pairs; it
holds a password, so it is never logged). It comes from, in order: an explicit
URL, `REVCERT_DATABASE_URL`, the Airflow connection `revcert_warehouse` (read
through the Postgres provider's hook, so every extra libpq understands, such as
`sslmode` or a Unix-socket `host`, is kept), else the embedded server under
`REVCERT_HOME`, started on demand.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from revcert.settings import Settings, from_environment
from revcert.warehouse.embedded import EmbeddedPostgres

WAREHOUSE_DATABASE = "revcert"


class WarehouseUnreachable(RuntimeError):
    """PostgreSQL could not be reached or refused the login; the message names host, port and database."""


def describe(dsn: str) -> str:
    """`host:port/database` of a connection string, for messages (never the password)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "an unparsable connection string"
    return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}/{params.get('dbname') or ''}"


def check_dsn(dsn: str) -> str:
    """The connection string, if libpq can parse it; otherwise a ValueError saying why."""
    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise ValueError(f"not a PostgreSQL connection string: {str(error).splitlines()[0]}") from None
    return dsn


def connect(dsn: str, *, autocommit: bool = False, statement_timeout_seconds: int | None = None,
            settings: Settings | None = None, **options: Any) -> psycopg.Connection:
    """Open a connection; an unreachable server fails within the connect timeout, naming itself.

    Args:
        dsn: The warehouse's connection string.
        autocommit: Passed to psycopg.
        statement_timeout_seconds: Cancel any statement running longer (mart and certification work).
        settings: The connect timeout.
        **options: More psycopg connection options (row_factory, ...).
    """
    settings = settings or from_environment()
    params = conninfo_to_dict(dsn)
    params.setdefault("connect_timeout", settings.connect_timeout_seconds)
    if statement_timeout_seconds:
        params["options"] = f"{params.get('options', '')} -c statement_timeout={statement_timeout_seconds * 1000}"
    try:
        return psycopg.connect(make_conninfo(**params), autocommit=autocommit, **options)
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise WarehouseUnreachable(f"cannot reach PostgreSQL at {describe(dsn)}: {reason}") from error


@contextmanager
def beside(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A second connection to `conn`'s warehouse, as the same login with the same options, reading exactly what
    `conn`'s transaction sees now (its exported snapshot), read only: work that can run at the same time as
    `conn`'s, on another core. `conn` must stay in that transaction until the second connection has begun, and
    must not have written or locked rows in it yet (PostgreSQL then gives it a transaction id): no other
    connection sees uncommitted writes. Not inside a savepoint, where PostgreSQL exports no snapshot."""
    if conn.autocommit:
        raise ValueError("an autocommit connection's snapshot ends with its statement: nothing can read beside it")
    if conn.execute("select pg_current_xact_id_if_assigned()").fetchone()[0] is not None:
        raise ValueError("the connection's transaction has written or locked rows: a second connection would not "
                         "read what it reads (do that after the work beside it, or commit first)")
    snapshot = conn.execute("select pg_export_snapshot()").fetchone()[0]
    # The server conn reached, not the first one listed: the snapshot exists only there.
    params = {**conn.info.get_parameters(), "host": conn.info.host, "port": str(conn.info.port)}
    if "hostaddr" in params:
        params["hostaddr"] = conn.info.hostaddr
    try:
        other = psycopg.connect(**params, password=conn.info.password)
    except psycopg.OperationalError as error:
        raise WarehouseUnreachable(f"cannot open a second connection to PostgreSQL at {conn.info.host}:"
                                   f"{conn.info.port}/{conn.info.dbname}: {str(error).strip()}") from error
    try:
        other.isolation_level, other.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        other.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))
        yield other
    finally:
        other.close()


@contextmanager
def work_mem_at_least(conn: psycopg.Connection, size: str) -> Iterator[None]:
    """The statements inside get at least `size` of memory for each of their sorts and hashes (PostgreSQL's
    `work_mem`, never lowered below what the session has); the session's setting comes back after them. The
    setting is the transaction's own: if a statement inside fails, rolling back undoes it as well."""
    was = conn.execute("select current_setting('work_mem')").fetchone()[0]
    conn.execute("select set_config('work_mem', %(more)s, true) "
                 "where pg_size_bytes(%(more)s) > pg_size_bytes(current_setting('work_mem'))", {"more": size})
    yield
    conn.execute("select set_config('work_mem', %s, true)", [was])


def dsn_from_airflow(conn_id: str) -> str:
    """The connection string of an Airflow Postgres connection (environment, metadata or secrets backend).

    The provider's hook decides which extras are its own (`cursor`, `iam`, ...);
    every other extra goes to libpq as it would in the hook's own connections.
    """
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id=conn_id)
    conn = hook.connection
    params = {"host": conn.host, "port": conn.port, "user": conn.login, "password": conn.password,
              "dbname": conn.schema}
    params.update({k: v for k, v in conn.extra_dejson.items() if k not in hook.ignored_extra_options})
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def embedded_server(settings: Settings | None = None) -> EmbeddedPostgres:
    settings = settings or Settings()
    return EmbeddedPostgres(settings.home / "pgdata")


def ensure_database(server_dsn: str, database: str) -> None:
    """Create `database` on the server of `server_dsn` if it does not exist."""
    with connect(server_dsn, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))


def warehouse_dsn(explicit: str | None = None, settings: Settings | None = None) -> str:
    """Resolve the warehouse (see the module docstring for the order)."""
    settings = settings or Settings()
    if explicit:
        return check_dsn(explicit)
    if settings.database_url:
        return check_dsn(settings.database_url)
    if os.environ.get(f"AIRFLOW_CONN_{settings.warehouse_conn_id.upper()}"):
        return dsn_from_airflow(settings.warehouse_conn_id)
    server = embedded_server(settings)
    server.start()
    ensure_database(server.url(), WAREHOUSE_DATABASE)
    return server.url(WAREHOUSE_DATABASE)
