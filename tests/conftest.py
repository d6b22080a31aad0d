"""Shared fixtures: a throwaway embedded PostgreSQL, migrated databases, generated orgs, stand-ins,
and an Airflow home of the tests' own with a migrated metadata database."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from revcert.snapshots.salesforce_generator import OrgShape, generate_org
from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from revcert.standins.slack import SlackWebhookReceiver
from revcert.warehouse import migrate
from revcert.warehouse.embedded import EmbeddedPostgres

_TEMPLATE = "revcert_template"
_database_numbers = itertools.count(1)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Point Airflow at a home of the tests' own before anything imports it."""
    home = Path(tempfile.mkdtemp(prefix="revcert-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT_ROOT / "plugins")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__API__BASE_URL"] = "http://airflow.test:8080"


# The longest files first (from `--durations`; the Makefile keeps xdist from reordering by test count):
# with `--dist loadfile` a file runs whole on one worker, so a long one that starts last runs alone at the
# end. Files not named keep their order.
LONGEST_FIRST = ("faults/test_mrr_crashes.py", "faults/test_shop_crashes.py", "deployment/test_celery_topology.py",
                 "deployment/test_wheel.py", "local/test_ui_command.py",
                 "local/test_standalone.py", "local/test_shop_cli.py", "local/test_cli_repeatable.py",
                 "local/test_cli.py", "faults/test_salesforce_bad_input.py", "ui/test_certified_revenue_page.py",
                 "faults/test_shopify_bad_input.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: number for number, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0].removeprefix("tests/"), len(rank)))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata database (SQLite in the tests' Airflow home), migrated once."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of the tests' own, started once and stopped at the end."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres") / "data")
    server.start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(_TEMPLATE)))
    migrate.upgrade(server.url(_TEMPLATE))
    yield server
    server.stop()


def new_database(server: EmbeddedPostgres, prefix: str = "warehouse") -> str:
    """A fresh, migrated warehouse database on the tests' server."""
    name = f"{prefix}_{next(_database_numbers)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(_TEMPLATE)))
    return server.url(name)


def copy_database(server: EmbeddedPostgres, url: str) -> str:
    """A copy of the database at `url` (nobody may be connected to it), for one test to change."""
    name = f"copy_{next(_database_numbers)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(url.rsplit("/", 1)[1])))
    return server.url(name)


@pytest.fixture
def warehouse_url(postgres_server: EmbeddedPostgres) -> str:
    """A fresh, migrated warehouse database for one test."""
    return new_database(postgres_server)


@pytest.fixture(scope="session")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated org of 150 customers (about 1,200 subscription lines)."""
    directory = tmp_path_factory.mktemp("small-org")
    generate_org(directory, OrgShape(accounts=150, seed=11))
    return directory


@pytest.fixture
def standin(small_org: Path, tmp_path: Path) -> Iterator[SalesforceStandIn]:
    """The small org served over HTTPS, with a small page size so paging happens."""
    with SalesforceStandIn(SalesforceOrg.from_snapshot(small_org), page_size=200, state_dir=tmp_path) as server:
        yield server


@pytest.fixture(scope="session")
def default_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated org of the default size (about 2,000 customers over four years)."""
    directory = tmp_path_factory.mktemp("default-org")
    generate_org(directory, OrgShape())
    return directory


@pytest.fixture(scope="session")
def staged_default_org(postgres_server: EmbeddedPostgres, default_org: Path, tmp_path_factory) -> str:
    """A database holding the default org, extracted through the stand-in into staging (read-only for tests)."""
    from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
    from revcert.local.extract import extract_salesforce

    name = "staged_default_org"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                       sql.Identifier(_TEMPLATE)))
    url = postgres_server.url(name)
    org = SalesforceOrg.from_snapshot(default_org)
    with SalesforceStandIn(org, state_dir=tmp_path_factory.mktemp("standin")) as standin:
        credentials = SalesforceCredentials(standin.url, standin.client_id, standin.client_secret,
                                            str(standin.ca_bundle))
        extract_salesforce(url, SalesforceClient(credentials))
    return url


@pytest.fixture(scope="session")
def certified_warehouse_url(postgres_server, airflow_db, small_org, tmp_path_factory) -> str:
    """A warehouse after one clean certified run of the small org (read-only for tests; copy it to change it)."""
    from tests.airflow_harness import certified_warehouse

    return certified_warehouse(postgres_server, _TEMPLATE, "certified_baseline", small_org,
                               tmp_path_factory.mktemp("standin"))


@pytest.fixture
def warehouse_after_certified_run(postgres_server, certified_warehouse_url) -> str:
    """A copy of the certified warehouse, for one test to change."""
    return copy_database(postgres_server, certified_warehouse_url)


def shops_snapshot(tmp_path_factory: pytest.TempPathFactory, name: str, shops: int, orders: int, seed: int) -> Path:
    """A generated Shopify snapshot in a directory of its own."""
    from revcert.snapshots.shopify_generator import ShopShape, generate_shops

    directory = tmp_path_factory.mktemp(name)
    generate_shops(directory, ShopShape(shops=shops, orders=orders, seed=seed))
    return directory


@pytest.fixture(scope="session")
def small_shops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated Shopify snapshot: 5 shops (New York, London, Kolkata, Lord Howe, Chatham), 600 orders."""
    return shops_snapshot(tmp_path_factory, "small-shops", shops=5, orders=600, seed=7)


@pytest.fixture(scope="session")
def certified_shops_url(postgres_server, airflow_db, small_shops, tmp_path_factory) -> str:
    """A warehouse after one clean shop_daily_revenue run of the small shops (read-only; copy it to change it)."""
    from tests.airflow_harness import certified_shop_warehouse

    return certified_shop_warehouse(postgres_server, _TEMPLATE, "certified_shops", small_shops,
                                    tmp_path_factory.mktemp("shop-standin"))


@pytest.fixture
def shops_after_certified_run(postgres_server, certified_shops_url) -> str:
    """A copy of the certified shops warehouse, for one test to change."""
    return copy_database(postgres_server, certified_shops_url)


@pytest.fixture
def slack() -> Iterator[SlackWebhookReceiver]:
    """A local Slack incoming-webhook receiver that keeps every message."""
    with SlackWebhookReceiver() as receiver:
        yield receiver
