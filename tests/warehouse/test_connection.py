"""One way to the warehouse: every libpq form and extra an Airflow connection can carry works."""
from __future__ import annotations

import json
import time

import psycopg
import pytest

from revcert.warehouse.connection import WarehouseUnreachable, beside, connect, dsn_from_airflow, work_mem_at_least
from revcert.warehouse.embedded import EmbeddedPostgres

pytestmark = pytest.mark.integration


def test_a_unix_socket_host_in_the_connection_is_used(tmp_path, monkeypatch):
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    sockets.chmod(0o777)
    server = EmbeddedPostgres(tmp_path / "data", socket_dir=sockets)
    server.start()
    try:
        port = server.url().rsplit(":", 1)[1].split("/")[0]
        monkeypatch.setenv("AIRFLOW_CONN_SOCKET_WAREHOUSE", f"postgresql://postgres@/postgres?host={sockets}&port={port}")
        with connect(dsn_from_airflow("socket_warehouse")) as conn:
            # A Unix-socket session has no server address; a TCP one would be 127.0.0.1.
            assert conn.execute("select inet_server_addr()").fetchone()[0] is None
    finally:
        server.stop()


def test_sslmode_in_the_connection_extras_reaches_libpq(postgres_server, monkeypatch):
    """A managed PostgreSQL's `sslmode=require` is kept: against a server without TLS (the embedded build
    has none) libpq refuses to connect in the clear, where a URL rebuilt without the extra would connect."""
    port = postgres_server.url().rsplit(":", 1)[1].split("/")[0]
    for mode in ("require", "prefer"):
        monkeypatch.setenv(f"AIRFLOW_CONN_SSL_{mode.upper()}", json.dumps({
            "conn_type": "postgres", "host": "127.0.0.1", "port": int(port), "login": "postgres",
            "schema": "postgres", "extra": {"sslmode": mode, "application_name": "revcert-test"}}))
    with pytest.raises(WarehouseUnreachable, match="server does not support SSL, but SSL was required"):
        connect(dsn_from_airflow("ssl_require"))
    with connect(dsn_from_airflow("ssl_prefer")) as conn:
        assert conn.execute("select current_setting('application_name')").fetchone()[0] == "revcert-test"


def test_an_unreachable_server_is_named_within_the_connect_timeout():
    started = time.monotonic()
    with pytest.raises(WarehouseUnreachable, match=r"cannot reach PostgreSQL at 127\.0\.0\.1:9/revcert"):
        connect("postgresql://nobody:secret@127.0.0.1:9/revcert")
    assert time.monotonic() - started < 12


def test_the_password_never_appears_in_the_message():
    with pytest.raises(WarehouseUnreachable) as error:
        connect("postgresql://nobody:s3cr3t-pw@127.0.0.1:9/revcert")
    assert "s3cr3t-pw" not in str(error.value)


def test_settings_follow_the_environment_as_it_is_now(monkeypatch):
    """Settings are built once per environment (connect runs per step and shop), never kept past a change."""
    from revcert.settings import from_environment

    monkeypatch.setenv("REVCERT_CONNECT_TIMEOUT_SECONDS", "3")
    first = from_environment()
    assert first.connect_timeout_seconds == 3 and from_environment() is first
    monkeypatch.setenv("REVCERT_CONNECT_TIMEOUT_SECONDS", "4")
    assert from_environment().connect_timeout_seconds == 4
    monkeypatch.delenv("REVCERT_CONNECT_TIMEOUT_SECONDS")
    assert from_environment().connect_timeout_seconds == 10


def test_work_beside_a_connection_reads_what_it_reads_with_its_options_and_writes_nothing(warehouse_url):
    """Certification runs the server's checks beside the derivation: the second connection has the first's
    options (the statement timeout) and sees its snapshot, not a row committed after, and cannot write."""
    with connect(warehouse_url, statement_timeout_seconds=7) as conn, connect(warehouse_url, autocommit=True) as other:
        other.execute("create table public.seen (n int)")
        other.execute("insert into public.seen values (1)")
        conn.execute("select 1")
        with beside(conn) as second:
            other.execute("insert into public.seen values (2)")
            assert second.execute("select array_agg(n) from public.seen").fetchone()[0] == [1]
            assert second.execute("show statement_timeout").fetchone()[0] == "7s"
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                second.execute("insert into public.seen values (3)")
        assert conn.execute("select count(*) from public.seen").fetchone()[0] == 2
    with connect(warehouse_url, autocommit=True) as conn, pytest.raises(ValueError, match="autocommit"):
        with beside(conn):
            pass
    with connect(warehouse_url) as conn, pytest.raises(ValueError, match="has written or locked rows"):
        conn.execute("insert into public.seen values (4)")
        with beside(conn):
            pass


def test_more_work_mem_is_for_the_statements_inside_only_and_never_less_than_the_session_has(warehouse_url):
    with connect(warehouse_url) as conn:
        conn.execute("set work_mem = '4MB'")
        with work_mem_at_least(conn, "64MB"):
            assert conn.execute("show work_mem").fetchone()[0] == "64MB"
        assert conn.execute("show work_mem").fetchone()[0] == "4MB"
        conn.execute("set work_mem = '256MB'")
        with work_mem_at_least(conn, "64MB"):
            assert conn.execute("show work_mem").fetchone()[0] == "256MB"
        assert conn.execute("show work_mem").fetchone()[0] == "256MB"
        # A statement inside that fails: rolling back to the savepoint undoes the setting with it.
        conn.execute("set work_mem = '4MB'")
        with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
            with work_mem_at_least(conn, "64MB"):
                conn.execute("select 1 / 0")
        assert conn.execute("show work_mem").fetchone()[0] == "4MB"

