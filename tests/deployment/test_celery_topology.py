"""The production topology of docker-compose.yaml, booted as real processes: Redis, PostgreSQL, the
api-server, scheduler, dag-processor, triggerer, one extraction worker and two warehouse workers, with
the FAB auth manager and the two roles `revcert roles sync` creates.

A finance viewer and an operator log in through the real api-server. The operator unpauses the DAG and
the scheduler starts its run; a warehouse worker is killed with SIGKILL (with everything it started) in
the middle of `transform`; the run certifies on the other worker. A backfill created meanwhile waits on
the warehouse lease and publishes after it. Both end with exactly what the same two runs give one after
the other.
"""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from functools import partial
from zoneinfo import ZoneInfo

import psycopg
import pytest
import requests
from cryptography.fernet import Fernet

from revcert.snapshots.salesforce_generator import OrgShape, generate_org
from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore
from revcert.standins.slack import SlackWebhookReceiver
from tests.airflow_harness import load_certified_mrr_dag, run_dag, wait_until
from tests.conftest import new_database, shops_snapshot
from tests.deployment.compose_topology import ComposeTopology, env_file_names
from tests.faults.checks import viz_rows

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]
BACKFILL_DAY = date(2026, 10, 15)
# Random passwords may begin with "-"; the finance one always does, so the CLI's reading of it is tested every run.
PASSWORDS = {"finance": "-" + secrets.token_urlsafe(12), "operator": secrets.token_urlsafe(12)}
ROLES = {"finance": "Finance viewer", "operator": "Operator"}
# Airflow's answers are polled gently, and a run through the scheduler gets minutes.
wait = partial(wait_until, timeout=600, poll=0.5)
EXECUTING = re.compile(r"Executing workload in Celery: .*?task_id='([\w.]+)'.*?run_id='([^']+)'.*?try_number=(\d+)")


def business_timezone_at_noon() -> str:
    """A fixed-offset zone where it is now between noon and one: unpausing the DAG starts its 06:00 run, and
    its 18:00 run is five hours away, far beyond the test."""
    offset = datetime.now(timezone.utc).hour - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{offset:+d}"


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> SalesforceOrg:
    directory = tmp_path_factory.mktemp("celery-org")
    generate_org(directory, OrgShape(accounts=20, seed=11))
    return SalesforceOrg.from_snapshot(directory)


@pytest.fixture(scope="module")
def topology(org, tmp_path_factory) -> Iterator[ComposeTopology]:
    home = tmp_path_factory.mktemp("compose")
    shops = ShopifyStore.from_snapshot(shops_snapshot(tmp_path_factory, "celery-shops", shops=2, orders=40, seed=7))
    with SalesforceStandIn(org, state_dir=home / "salesforce") as salesforce, \
            ShopifyStandIn(shops, state_dir=home / "shopify") as shopify, SlackWebhookReceiver() as slack:
        env_file = {"AIRFLOW_DB_PASSWORD": secrets.token_urlsafe(16),
                    "WAREHOUSE_DB_PASSWORD": secrets.token_urlsafe(16),
                    "REDIS_PASSWORD": secrets.token_urlsafe(16),
                    "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                    "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                    "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                    "REVCERT_VIZ_PASSWORD": secrets.token_urlsafe(16),
                    "AIRFLOW_CONN_SALESFORCE_DEFAULT": salesforce.airflow_connection(),
                    "AIRFLOW_CONN_SHOPIFY_DEFAULT": shopify.airflow_connection(),
                    "AIRFLOW_CONN_SLACK_ONCALL": slack.airflow_connection(),
                    "AIRFLOW__API__BASE_URL": "http://airflow-apiserver:8080",
                    "REVCERT_BUSINESS_TIMEZONE": business_timezone_at_noon()}
        topology = ComposeTopology(home, env_file)
        try:
            # As the README tells an operator to write them: the warehouse service by its name.
            env_file["AIRFLOW_CONN_REVCERT_WAREHOUSE"] = (
                f"postgresql://revcert:{env_file['WAREHOUSE_DB_PASSWORD']}@warehouse:5432/revcert")
            env_file["AIRFLOW_CONN_REVCERT_VIZ"] = (
                f"postgresql://revcert_viz:{env_file['REVCERT_VIZ_PASSWORD']}@warehouse:5432/revcert")
            topology.start_data_services()
            assert set(env_file_names()) == set(env_file), "the test fills in exactly what .env.example asks for"
            # `--password=`: a password beginning with "-" would otherwise be read as an option.
            topology.boot(after_init=lambda: [
                topology.airflow("users", "create", "--username", user, f"--password={password}", "--role", ROLES[user],
                                 "--email", f"{user}@example.com", "--firstname", user, "--lastname", "Test")
                for user, password in PASSWORDS.items()])
            yield topology
        finally:
            topology.stop()


def login(topology: ComposeTopology, user: str) -> requests.Session:
    response = requests.post(f"{topology.api_url}/auth/token",
                             json={"username": user, "password": PASSWORDS[user]}, timeout=90)
    assert response.status_code == 201, response.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def status(session: requests.Session, topology: ComposeTopology, method: str, path: str, **json) -> int:
    return session.request(method, f"{topology.api_url}{path}", json=json or None, timeout=60).status_code


def test_a_finance_viewer_reads_the_certified_revenue_page_and_nothing_else(topology):
    anonymous = requests.get(f"{topology.api_url}/revcert/api/v1/certifications", timeout=90)
    assert anonymous.status_code == 401
    viewer = login(topology, "finance")
    assert status(viewer, topology, "GET", "/revcert/") == 200
    assert status(viewer, topology, "GET", "/revcert/api/v1/certifications") == 200
    plugins = viewer.get(f"{topology.api_url}/api/v2/plugins", timeout=90).json()["plugins"]
    assert any(view["name"] == "Certified revenue" for plugin in plugins for view in plugin["external_views"])
    for method, path, body in (("GET", "/api/v2/dags", {}), ("GET", "/api/v2/dags/certified_mrr/dagRuns", {}),
                               ("POST", "/api/v2/dags/certified_mrr/dagRuns", {"logical_date": None}),
                               ("PATCH", "/api/v2/dags/certified_mrr", {"is_paused": False}),
                               ("POST", "/api/v2/backfills", {"dag_id": "certified_mrr",
                                                              "from_date": "2026-10-01T00:00:00Z",
                                                              "to_date": "2026-10-02T00:00:00Z"}),
                               ("POST", "/api/v2/dags/certified_mrr/clearTaskInstances", {"dry_run": True}),
                               ("GET", "/api/v2/connections", {}), ("GET", "/api/v2/variables", {})):
        assert status(viewer, topology, method, path, **body) == 403, (method, path)


def test_an_operator_runs_the_pipelines_and_reads_no_secret(topology):
    operator = login(topology, "operator")
    assert status(operator, topology, "GET", "/revcert/api/v1/certifications") == 200
    deadline = time.monotonic() + 180
    while status(operator, topology, "GET", "/api/v2/dags/certified_mrr") != 200:
        assert time.monotonic() < deadline, "the dag-processor never parsed certified_mrr"
        time.sleep(2)
    assert status(operator, topology, "POST", "/api/v2/dags/certified_mrr/clearTaskInstances", dry_run=True) == 200
    # A run of a paused DAG waits, queued, until someone unpauses it: this one never runs.
    assert status(operator, topology, "POST", "/api/v2/dags/shop_revenue_reconciliation/dagRuns",
                  logical_date=None) == 200
    assert status(operator, topology, "POST", "/api/v2/backfills/dry_run", dag_id="certified_mrr",
                  from_date="2026-10-01T00:00:00Z", to_date="2026-10-02T00:00:00Z") == 200
    assert status(operator, topology, "GET", "/api/v2/importErrors") == 200
    for path in ("/api/v2/connections", "/api/v2/variables"):
        assert status(operator, topology, "GET", path) == 403, path


def task_states(session, topology, run_id: str) -> dict[str, dict]:
    response = session.get(f"{topology.api_url}/api/v2/dags/certified_mrr/dagRuns/{run_id}/taskInstances",
                           timeout=90)
    return {ti["task_id"]: ti for ti in response.json()["task_instances"]}


def dag_runs(session, topology) -> list[dict]:
    return session.get(f"{topology.api_url}/api/v2/dags/certified_mrr/dagRuns", timeout=90).json()["dag_runs"]


def run_state(session, topology, run_id: str) -> str:
    return session.get(f"{topology.api_url}/api/v2/dags/certified_mrr/dagRuns/{run_id}", timeout=90).json()["state"]


def executed(topology: ComposeTopology) -> dict[tuple[str, str, int], str]:
    """(task, run, try) -> the worker process that executed it, from each worker's own log."""
    return {(task, run, int(attempt)): worker.name for worker in topology.workers()
            for task, run, attempt in EXECUTING.findall(worker.log.read_text(errors="replace"))}


def lease_events(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select event, coalesce(holder, previous_holder) from certification.warehouse_lease_event "
                            "where lease_name = 'certified_mrr' order by event_id").fetchall()


def test_a_worker_lost_in_transform_costs_a_retry_not_the_run_and_a_backfill_waits_its_turn(
        topology, org, postgres_server, airflow_db, tmp_path, monkeypatch):
    started = time.monotonic()
    operator = login(topology, "operator")
    warehouse = topology.here(topology.env_file["AIRFLOW_CONN_REVCERT_WAREHOUSE"])
    # Unpaused, the DAG is scheduled at once for its latest 06:00 or 18:00 (a start date, catchup off).
    assert status(operator, topology, "PATCH", "/api/v2/dags/certified_mrr", is_paused=False) == 200
    wait(lambda: dag_runs(operator, topology), "the scheduled run", timeout=120)
    (scheduled,) = dag_runs(operator, topology)
    assert scheduled["run_type"] == "scheduled"
    run_id = scheduled["dag_run_id"]
    wait(lambda: task_states(operator, topology, run_id).get("stage", {}).get("state") in ("running", "success"),
               "stage to start", timeout=300)

    with psycopg.connect(warehouse) as blocker, psycopg.connect(warehouse, autocommit=True) as watcher:
        # transform writes the run's record last, in its mart's transaction: holding the row stops it there.
        blocker.execute("select 1 from certification.certification_run where dag_id = 'certified_mrr' "
                        "and run_id = %s for no key update", [run_id])
        wait(lambda: watcher.execute("select count(*) from pg_stat_activity where datname = current_database() "
                                           "and wait_event_type = 'Lock'").fetchone()[0] > 0,
                   "transform to block inside its transaction")
        assert task_states(operator, topology, run_id)["transform"]["state"] == "running"
        lost = next(worker for worker in topology.workers()
                    if ("transform", run_id, 1) in {key for key, name in executed(topology).items()
                                                    if name == worker.name})
        assert lost.service == "airflow-worker-warehouse"
        lost.kill_as_a_lost_machine()
        blocker.rollback()
    # Created while the run is still going (its transform lost, not yet retried): the backfill must wait.
    morning = datetime.combine(BACKFILL_DAY, clock(0), ZoneInfo(topology.env_file["REVCERT_BUSINESS_TIMEZONE"]))
    response = operator.post(f"{topology.api_url}/api/v2/backfills", timeout=90, json={
        "dag_id": "certified_mrr", "from_date": morning.isoformat(),
        "to_date": (morning + timedelta(hours=12)).isoformat(), "max_active_runs": 1,
        "reprocess_behavior": "none", "dag_run_conf": {}})
    assert response.status_code == 200, response.text
    backfill_id = response.json()["id"]

    wait(lambda: run_state(operator, topology, run_id) in ("success", "failed"), "the run to end")
    tasks = task_states(operator, topology, run_id)
    assert run_state(operator, topology, run_id) == "success", {t: ti["state"] for t, ti in tasks.items()}
    assert tasks["transform"]["try_number"] == 2
    (backfill_run,) = [r for r in dag_runs(operator, topology) if r["run_type"] == "backfill"]
    wait(lambda: run_state(operator, topology, backfill_run["dag_run_id"]) in ("success", "failed"),
               "the backfill to end")
    assert run_state(operator, topology, backfill_run["dag_run_id"]) == "success"
    wall = time.monotonic() - started

    where = executed(topology)
    survivor = where[("transform", run_id, 2)]
    assert survivor != lost.name and survivor.startswith("airflow-worker-warehouse")
    for (task, _run, _try), worker in where.items():
        expected = "airflow-worker-extraction" if task == "extract" else "airflow-worker-warehouse"
        assert worker.startswith(expected), (task, worker)
    assert len(set(where.values())) == 3, where

    # The backfill waited on the lease: it took it only when the run gave it back, and nobody took it over.
    events = lease_events(warehouse)
    assert [event for event, _holder in events] == ["acquired", "released", "acquired", "released"], events
    assert run_id in events[0][1] and backfill_run["dag_run_id"] in events[2][1], events
    wait(lambda: operator.get(f"{topology.api_url}/api/v2/backfills/{backfill_id}", timeout=90).json()["completed_at"],
         "the scheduler to complete the backfill", timeout=120)

    # One after the other, the same two runs give exactly the same figures.
    with psycopg.connect(warehouse) as conn:
        as_of = dict(conn.execute("select run_id, as_of_date from certification.certification_run").fetchall())
        statuses = conn.execute("select status, published_at is not null from certification.certification_run "
                                "order by certification_id").fetchall()
    assert statuses == [("certified", True), ("certified", True)]
    assert as_of[backfill_run["dag_run_id"]] == BACKFILL_DAY, "a backfill certifies as of its logical date"
    reference = new_database(postgres_server)
    with SlackWebhookReceiver() as slack:
        for run in (run_id, backfill_run["dag_run_id"]):
            state, reference_tasks = run_dag(load_certified_mrr_dag(), monkeypatch, reference, org, slack,
                                             as_of=as_of[run], tmp_path=tmp_path)
            assert state == "success", reference_tasks
    assert viz_rows(warehouse, with_moments=False) == viz_rows(reference, with_moments=False)
    print(f"\ncelery topology: {wall:.0f}s from trigger to both runs certified; tasks ran on {sorted(where.items())}")
