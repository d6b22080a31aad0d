"""The warehouse: embedded server lifecycle and versioned migrations."""
from __future__ import annotations

import psycopg
import pytest

from revcert.warehouse import migrate
from revcert.warehouse.embedded import EmbeddedPostgres

pytestmark = pytest.mark.integration

LAYERS = {"raw", "staging", "mart", "certification", "viz", "analytics", "shadow", "monitoring"}


def test_migrations_create_one_schema_per_layer(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        schemas = {name for (name,) in conn.execute("select schema_name from information_schema.schemata")}
    assert LAYERS <= schemas
    assert migrate.current_revision(warehouse_url) == migrate.head_revision()


def test_applying_migrations_twice_is_a_no_op(warehouse_url):
    def catalogue():
        with psycopg.connect(warehouse_url) as conn:
            return conn.execute("select table_schema, table_name, column_name, data_type from "
                                "information_schema.columns where table_schema = any(%s) order by 1, 2, 3",
                                [sorted(LAYERS)]).fetchall()

    before = catalogue()
    migrate.upgrade(warehouse_url)
    migrate.upgrade(warehouse_url)
    assert catalogue() == before and before


def test_money_columns_are_numeric(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        types = dict(conn.execute("select column_name, data_type from information_schema.columns where "
                                  "table_schema = 'staging' and table_name = 'stg_subscription_line'").fetchall())
    assert types["net_price"] == types["quantity"] == types["prorate_multiplier"] == "numeric"


def test_embedded_server_starts_stops_and_keeps_its_data(tmp_path):
    server = EmbeddedPostgres(tmp_path / "data")
    url = server.start()
    assert server.start() == url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table kept (x numeric)")
        conn.execute("insert into kept values (1.10)")
    server.stop()
    assert not server.is_running()
    url = server.start()
    with psycopg.connect(url) as conn:
        assert conn.execute("select x::text from kept").fetchone() == ("1.10",)
    server.stop()
