"""The warehouse: embedded server lifecycle and versioned migrations."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

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


def test_the_migrated_warehouse_is_exactly_the_declared_schema(warehouse_url):
    """revcert.warehouse.schema is the one schema source: Alembic finds no difference with the migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from revcert.warehouse.schema import LAYERS as DECLARED_LAYERS
    from revcert.warehouse.schema import metadata

    engine = migrate.engine(warehouse_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "include_schemas": True, "compare_type": True,
                "include_name": lambda name, kind, _: name in DECLARED_LAYERS if kind == "schema" else True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_every_primary_key_has_its_declared_column_order(warehouse_url):
    """Alembic does not compare a key's column order, and the fingerprint and check 4 order rows by the declared
    one (key_names): every primary key in the catalogue is checked against it."""
    from revcert.warehouse.schema import LAYERS, key_names, metadata

    with psycopg.connect(warehouse_url) as conn:
        keys = dict(conn.execute("""
            select key.conrelid::regclass::text, array_agg(columns.attname order by position.n)
            from pg_constraint as key
            cross join unnest(key.conkey) with ordinality as position (attnum, n)
            inner join pg_attribute as columns on columns.attrelid = key.conrelid and columns.attnum = position.attnum
            where key.contype = 'p' and key.connamespace::regnamespace::text = any(%s)
            group by key.conrelid""", [list(LAYERS)]).fetchall())
    declared = {name: key_names(table) for name, table in metadata.tables.items() if table.primary_key.columns}
    assert keys == declared


def test_the_tables_declared_unlogged_are_the_unlogged_ones(warehouse_url):
    """Alembic does not compare persistence: the schema's UNLOGGED tables are checked against the catalogue."""
    from sqlalchemy.schema import CreateTable

    from revcert.warehouse.schema import UNLOGGED_MART, metadata

    with psycopg.connect(warehouse_url) as conn:
        unlogged = {f"{schema}.{name}" for schema, name in conn.execute(
            "select relnamespace::regnamespace::text, relname from pg_class "
            "where relkind = 'r' and relpersistence = 'u'")}
    declared = {name for name, table in metadata.tables.items()
                if str(CreateTable(table)).lstrip().startswith("CREATE UNLOGGED TABLE")}
    assert unlogged == declared == {f"mart.{table.name}" for table in UNLOGGED_MART}
    assert "mart.mart_customer_month" in declared and "mart.mart_build" in declared
    assert not any(name.startswith("mart.mart_shop") for name in declared)


def test_every_mart_model_selects_exactly_its_tables_columns(warehouse_url):
    """A model's output columns and its table's columns are the same names (rows go in by name)."""
    from revcert.methodology.mart import MODELS
    from revcert.sqlfiles import load_sql
    from revcert.warehouse.schema import column_names, metadata

    with psycopg.connect(warehouse_url) as conn:
        for model in MODELS:
            for whole in (True, False):  # every customer, or those in scope and the as-of month
                cursor = conn.execute(f"select * from ({load_sql('mart', model)}) as model limit 0",
                                      {"as_of_date": "2026-01-31", "renewal_grace_days": 31, "whole": whole,
                                       "rebuilt_month": None if whole else "2026-01-01"})
                assert sorted(c.name for c in cursor.description) == sorted(
                    column_names(metadata.tables[f"mart.{model}"])), model
                conn.rollback()


def test_two_migrators_at_once_take_turns(postgres_server):
    """Two runs starting together both migrate a new warehouse; the advisory lock makes them take turns."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import _database_numbers

    name = f"fresh_{next(_database_numbers)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = postgres_server.url(name)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: migrate.upgrade(url), range(2)))
    assert migrate.current_revision(url) == migrate.head_revision()


def _database_at(server: EmbeddedPostgres, prefix: str, revision: str) -> str:
    """A new database on the tests' server, migrated up to `revision` only."""
    from tests.conftest import _database_numbers

    name = f"{prefix}_{next(_database_numbers)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = server.url(name)
    migrate.upgrade(url, revision)
    return url


def test_a_migration_failing_halfway_leaves_the_warehouse_as_it_was(postgres_server):
    """Every upgrade is one transaction: a run (or the compose file's airflow-init) never meets a
    half-migrated warehouse, even when a migration fails in its middle."""
    url = _database_at(postgres_server, "half", "0006")
    with psycopg.connect(url) as conn:
        # 0007 creates raw.shopify_record and staging.stg_order first, then fails on this one.
        conn.execute("create table staging.stg_refund (planted int)")
    with pytest.raises(Exception, match="stg_refund"):
        migrate.upgrade(url)
    assert migrate.current_revision(url) == "0006"
    with psycopg.connect(url) as conn:
        made = conn.execute("select to_regclass('raw.shopify_record'), to_regclass('staging.stg_order')").fetchone()
        shop_column = conn.execute("select 1 from information_schema.columns where table_schema = 'raw' "
                                   "and table_name = 'extraction_batch' and column_name = 'shop_id'").fetchone()
        conn.execute("drop table staging.stg_refund")
    assert made == (None, None) and shop_column is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()


@pytest.mark.parametrize("value, places", [
    ("0.125", 2), ("0.135", 2), ("-0.125", 2), ("-0.135", 2), ("2.5", 0), ("3.5", 0), ("-2.5", 0),
    ("0.1251", 2), ("-0.1249", 2), ("12.25", 1), ("12.35", 1), ("0", 2),
    ("1234.5678901234567890123456789012345678", 2),
])
def test_the_marts_rounding_is_half_to_even_like_pythons_decimal(warehouse_url, value, places):
    expected = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    with psycopg.connect(warehouse_url) as conn:
        rounded = conn.execute("select mart.round_half_even(%s::numeric, %s)", [value, places]).fetchone()[0]
    assert rounded == expected


def test_the_marts_rounding_is_inlined_into_the_query_and_keeps_null(warehouse_url):
    # Called through the function executor it cost more than the rest of mart_customer_revenue.
    with psycopg.connect(warehouse_url) as conn:
        plan = "\n".join(row[0] for row in conn.execute(
            "explain verbose select mart.round_half_even(x / 3, 2) from generate_series(1, 3) as x"))
        assert "round_half_even" not in plan and "round(" in plan
        assert conn.execute("select mart.round_half_even(null, 2)").fetchone()[0] is None


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    warehouse = migrate.engine(url)
    try:
        with warehouse.connect() as conn:
            config = migrate.alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
            conn.commit()
    finally:
        warehouse.dispose()


def _insert(conn: psycopg.Connection, table: str, **given: object) -> None:
    """A row of a viz table with the values given and a plain one of its type in every other column."""
    plain = {"numeric": "0.00", "date": "2026-01-31", "text": "x", "boolean": "false", "ARRAY": "{}",
             "integer": "0", "bigint": "0", "timestamp with time zone": "2026-02-01 06:00+00"}
    columns = conn.execute("select column_name, data_type from information_schema.columns where table_schema = "
                           "'viz' and table_name = %s order by ordinal_position", [table]).fetchall()
    values = [given.get(name, plain[kind]) for name, kind in columns]
    conn.execute(f"insert into viz.{table} values ({', '.join(['%s'] * len(values))})", values)


def _published_detail(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(f"select * from viz.{name} order by 1, 2").fetchall()
                for name in ("customer_month", "customer_line", "customer_contract")}


def _warehouse_at_0017_with_published_detail(postgres_server, *, month_stamp: str = "first") -> str:
    """Two certifications: the first published January, the second February, the lines and the contracts."""
    url = _database_at(postgres_server, "stamps", "0017")
    with psycopg.connect(url) as conn:
        first, second = (conn.execute(
            "insert into certification.certification_run (dag_id, run_id, scope, as_of_date, status, "
            "is_certify_only, is_restatement, overrides_used, certified_at) values ('certified_mrr', %s, '', "
            "'2026-02-15', 'certified', false, false, '[]', %s) returning certification_id",
            [run, at]).fetchone()[0] for run, at in (("a", "2026-02-01 06:00+00"), ("b", "2026-02-15 18:00+00")))
        stamps = {first: "2026-02-01 06:00+00", second: "2026-02-15 18:00+00"}
        january = first if month_stamp == "first" else second
        for month, certification in (("2026-01-01", first), ("2026-02-01", second)):
            _insert(conn, "mrr_bridge_total", month=month, certification_id=certification,
                    certified_at=stamps[certification])
        for customer, ending in (("001A", "100.00"), ("001B", "250.50")):
            _insert(conn, "customer_month", month="2026-01-01", customer_id=customer, starting_mrr=ending,
                    ending_mrr=ending, movement_type="none", certification_id=january, certified_at=stamps[january])
            _insert(conn, "customer_month", month="2026-02-01", customer_id=customer, starting_mrr=ending,
                    ending_mrr=ending, movement_type="none", certification_id=second, certified_at=stamps[second])
            _insert(conn, "customer_line", subscription_line_id=f"L-{customer}", customer_id=customer,
                    conversion_rate="1.10", certification_id=second, certified_at=stamps[second])
            _insert(conn, "customer_contract", contract_id=f"C-{customer}", customer_id=customer,
                    renews_contract_ids="{C-0}", certification_id=second, certified_at=stamps[second])
    return url


def test_the_customer_detail_keeps_its_certification_through_its_month_and_publication(postgres_server):
    """Migration 0018 moves the detail's stamp to the month's bridge total and the lines' publication: the
    views read exactly the rows and stamps published before, and the downgrade puts them back in the rows."""
    url = _warehouse_at_0017_with_published_detail(postgres_server)
    before = _published_detail(url)
    migrate.upgrade(url)
    assert _published_detail(url) == before
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from viz.customer_detail_certification").fetchone() == (1,)
        stamped = conn.execute("select count(*) from information_schema.columns where table_schema = 'viz' and "
                               "table_name like '%%_figures' and column_name = 'certification_id'").fetchone()
    assert stamped == (0,)
    _downgrade(url, "0017")
    assert _published_detail(url) == before
    migrate.upgrade(url)
    assert _published_detail(url) == before


def test_the_upgrade_stops_rather_than_lose_a_customer_months_own_certification(postgres_server):
    """A customer-month stamped by another certification than its month's bridge total cannot keep its
    provenance through the view: the upgrade refuses, and nothing changes."""
    url = _warehouse_at_0017_with_published_detail(postgres_server, month_stamp="second")
    before = _published_detail(url)
    with pytest.raises(Exception, match="2 published customer-months carry another certification"):
        migrate.upgrade(url)
    assert migrate.current_revision(url) == "0017"
    assert _published_detail(url) == before
