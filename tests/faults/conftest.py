"""Fixtures of the standing suite of faults: a tiny org and tiny shops, each certified once, so that
every bad input and every crash runs the whole pipeline in seconds."""
from __future__ import annotations

from pathlib import Path

import pytest

from revcert.snapshots.salesforce_generator import OrgShape, generate_org
from tests.conftest import _TEMPLATE, copy_database, shops_snapshot


@pytest.fixture(scope="session")
def tiny_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 customers (about 120 subscription lines) with renewals, amendments, currencies and deletions."""
    directory = tmp_path_factory.mktemp("tiny-org")
    generate_org(directory, OrgShape(accounts=20, seed=11))
    return directory


@pytest.fixture(scope="session")
def tiny_shops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shops (New York, London; USD and GBP with EUR presentment), 80 orders, some refunded."""
    return shops_snapshot(tmp_path_factory, "tiny-shops", shops=2, orders=80, seed=7)


@pytest.fixture(scope="session")
def certified_tiny_org_url(postgres_server, airflow_db, tiny_org, tmp_path_factory) -> str:
    """A warehouse after one clean certified_mrr run of the tiny org (read-only; copy it to change it)."""
    from tests.airflow_harness import certified_warehouse

    return certified_warehouse(postgres_server, _TEMPLATE, "certified_tiny_org", tiny_org,
                               tmp_path_factory.mktemp("tiny-standin"))


@pytest.fixture(scope="session")
def certified_tiny_shops_url(postgres_server, airflow_db, tiny_shops, tmp_path_factory) -> str:
    """A warehouse after one clean shop_daily_revenue run of the tiny shops (read-only; copy it to change it)."""
    from tests.airflow_harness import certified_shop_warehouse

    return certified_shop_warehouse(postgres_server, _TEMPLATE, "certified_tiny_shops", tiny_shops,
                                    tmp_path_factory.mktemp("tiny-shop-standin"))


@pytest.fixture
def tiny_org_warehouse(postgres_server, certified_tiny_org_url) -> str:
    return copy_database(postgres_server, certified_tiny_org_url)


@pytest.fixture
def tiny_shops_warehouse(postgres_server, certified_tiny_shops_url) -> str:
    return copy_database(postgres_server, certified_tiny_shops_url)
