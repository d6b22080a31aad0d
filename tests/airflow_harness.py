"""Running this project's Airflow pieces for real in tests: dag.test runs and an api-server."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from revcert.local.run import airflow_connection
from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from revcert.standins.slack import SlackWebhookReceiver

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 21)
SHOP_AS_OF = date(2026, 11, 20)
ADMIN_PASSWORD = "certified-revenue-test"


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag(dag_id)


def load_certified_mrr_dag():
    return load_dag("certified_mrr")


def run_dag(dag, monkeypatch: pytest.MonkeyPatch, url: str, org: SalesforceOrg, slack: SlackWebhookReceiver,
            as_of: date | None = AS_OF, tmp_path: Path | None = None, run_conf: dict | None = None,
            logical_date: datetime | None = None, **standin_options) -> tuple[str, dict[str, str]]:
    """One dag.test run against the stand-in serving `org`; returns (run state, task states).

    As `revcert run` does, the as-of date goes in as a param and the logical date is the moment the
    run starts (every run a new one); pass `as_of=None` and a `logical_date` to certify as of that.
    """
    with SalesforceStandIn(org, state_dir=tmp_path) as standin:
        for name, value in standin_options.items():
            setattr(standin, name, value)
        monkeypatch.setenv("AIRFLOW_CONN_REVCERT_WAREHOUSE", airflow_connection(url))
        monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", standin.airflow_connection())
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ONCALL", slack.airflow_connection())
        # Every param given every time: a DAG object kept between runs must not carry one run's conf to the next.
        conf = {"as_of": as_of.isoformat() if as_of else None, "full_extraction": False, "certify_only": False,
                "restate": False, **(run_conf or {})}
        started = logical_date or datetime.now(timezone.utc)
        run = dag.test(logical_date=started, run_after=started, run_conf=conf)
    return str(run.state), {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@contextmanager
def shopify_for_dag(monkeypatch: pytest.MonkeyPatch, url: str, store, slack: SlackWebhookReceiver,
                    tmp_path: Path | None = None, faults: tuple = (), revoked: tuple[str, ...] = ()):
    """The Shopify stand-in serving `store`, with the Airflow connections a shop DAG reads pointing at it,
    the warehouse and Slack.

    The stand-in's rate limit is wide open (tests are about figures, not waiting); `faults` and
    `revoked` (shop gids) are injected first.
    """
    from revcert.standins.shopify.server import ShopifyStandIn

    with ShopifyStandIn(store, state_dir=tmp_path, bucket_size=10**7, restore_rate=10**7) as standin:
        for fault in faults:
            standin.inject(fault)
        for shop in revoked:
            standin.revoke_token(shop)
        monkeypatch.setenv("AIRFLOW_CONN_REVCERT_WAREHOUSE", airflow_connection(url))
        monkeypatch.setenv("AIRFLOW_CONN_SHOPIFY_DEFAULT", standin.airflow_connection())
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ONCALL", slack.airflow_connection())
        yield standin


def _dag_test(dag, conf: dict) -> tuple[str, dict[str, str]]:
    started = datetime.now(timezone.utc)
    run = dag.test(logical_date=started, run_after=started, run_conf=conf)
    return str(run.state), {f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state)
                            for ti in run.get_task_instances()}


def run_shop_dag(dag, monkeypatch: pytest.MonkeyPatch, url: str, store, slack: SlackWebhookReceiver,
                 as_of: date = SHOP_AS_OF, run_conf: dict | None = None, tmp_path: Path | None = None,
                 faults: tuple = (), revoked: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    """One dag.test run of shop_daily_revenue against the Shopify stand-in serving `store`."""
    with shopify_for_dag(monkeypatch, url, store, slack, tmp_path, faults, revoked):
        return _dag_test(dag, {"as_of": as_of.isoformat(), "shops": [], "from": None, "to": None,
                               "full_extraction": False, **(run_conf or {})})


def run_reconciliation_dag(dag, monkeypatch: pytest.MonkeyPatch, url: str, store, slack: SlackWebhookReceiver,
                           run_conf: dict | None = None, tmp_path: Path | None = None, faults: tuple = (),
                           revoked: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    """One dag.test run of shop_revenue_reconciliation (every shop, the 7 days to SHOP_AS_OF by default)."""
    with shopify_for_dag(monkeypatch, url, store, slack, tmp_path, faults, revoked):
        return _dag_test(dag, {"fraction": 0.05, "all_shops": True, "days": 7, "seed": None,
                               "as_of": SHOP_AS_OF.isoformat(), **(run_conf or {})})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what: str, timeout: float = 90, poll: float = 0.05) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(poll)


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.5)


def viz_login(warehouse_url: str) -> str:
    """The viz-only login of a warehouse, as the page and API use it (created on first use)."""
    from revcert.warehouse.roles import ensure_viz_login, login_dsn

    ensure_viz_login(warehouse_url, "revcert_viz")
    return login_dsn(warehouse_url, "revcert_viz")


class ApiServer:
    """`airflow api-server` on loopback with this project's plugin, an admin user and the warehouse connection."""

    def __init__(self, warehouse_url: str, log_file: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        home = Path(os.environ["AIRFLOW_HOME"])
        passwords = home / "test_passwords.json"
        passwords.write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        self.env = {**os.environ,
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                    "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
                    "AIRFLOW__API__BASE_URL": self.base_url,
                    "AIRFLOW_CONN_REVCERT_WAREHOUSE": airflow_connection(warehouse_url),
                    "AIRFLOW_CONN_REVCERT_VIZ": airflow_connection(viz_login(warehouse_url))}
        self.log_file = log_file
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ApiServer:
        log = self.log_file.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1",
                                         "--port", str(self.port), "--workers", "1"],
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"{self.base_url}/api/v2/monitor/health")
        except TimeoutError:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def token(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        response = requests.post(f"{self.base_url}/auth/token", json={"username": username, "password": password},
                                 timeout=10)
        response.raise_for_status()
        return response.json()["access_token"]


def certified_warehouse(postgres_server, template: str, name: str, org_dir: Path, state_dir: Path) -> str:
    """A warehouse database after one clean certified_mrr run as of AS_OF."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    url = postgres_server.url(name)
    monkeypatch = pytest.MonkeyPatch()
    try:
        with SlackWebhookReceiver() as receiver:
            state, tasks = run_dag(load_certified_mrr_dag(), monkeypatch, url, SalesforceOrg.from_snapshot(org_dir),
                                   receiver, tmp_path=state_dir)
    finally:
        monkeypatch.undo()
    assert state == "success", tasks
    return url


def certified_shop_warehouse(postgres_server, template: str, name: str, shops_dir: Path, state_dir: Path) -> str:
    """A warehouse database after one clean shop_daily_revenue run of the shops in `shops_dir`."""
    import psycopg
    from psycopg import sql

    from revcert.standins.shopify.server import ShopifyStore

    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    url = postgres_server.url(name)
    with pytest.MonkeyPatch.context() as monkeypatch, SlackWebhookReceiver() as receiver:
        state, tasks = run_shop_dag(load_dag("shop_daily_revenue"), monkeypatch, url,
                                    ShopifyStore.from_snapshot(shops_dir), receiver, tmp_path=state_dir)
    assert state == "success", tasks
    return url
