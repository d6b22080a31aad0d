"""A real Airflow (`airflow standalone`: scheduler, dag-processor, api-server, triggerer) as `make ui`
runs it: log in, see the DAG and the page, and backfill three dates through Airflow's own backfill."""
from __future__ import annotations

import time
from datetime import date
from typing import Iterator

import psycopg
import pytest
import requests

from revcert.orchestration.local_airflow import LocalAirflow
from revcert.standins.salesforce.server import SalesforceOrg
from tests.airflow_harness import free_port, load_certified_mrr_dag, run_dag

pytestmark = pytest.mark.integration
FIGURES = ("month", "business_unit", "starting_mrr", "new", "expansion", "contraction", "churn", "winback",
           "ending_mrr", "recognized_revenue", "active_customers", "snapshot_date")


@pytest.fixture(scope="module")
def airflow(postgres_server, small_org, tmp_path_factory) -> Iterator[LocalAirflow]:
    home = tmp_path_factory.mktemp("airflow-standalone")
    local = LocalAirflow(home, postgres_server, "standalone_warehouse", SalesforceOrg.from_snapshot(small_org),
                         port=free_port())
    local.prepare()
    try:
        yield local.start(home / "standalone.log")
    finally:
        local.stop()


def api(airflow: LocalAirflow, path: str, token: str, **params) -> requests.Response:
    return requests.get(f"{airflow.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, params=params,
                        timeout=30)


def login(airflow: LocalAirflow) -> str:
    response = requests.post(f"{airflow.base_url}/auth/token",
                             json={"username": "admin", "password": airflow.admin_password()}, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


def wait_for_dag(airflow: LocalAirflow, token: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = api(airflow, "/api/v2/dags/certified_mrr", token)
        if response.status_code == 200:
            return response.json()
        assert time.monotonic() < deadline, f"the DAG never appeared: {response.text}"
        time.sleep(2)


def test_log_in_and_find_the_unpaused_dag_and_the_page(airflow):
    assert requests.get(f"{airflow.base_url}/revcert/", timeout=30).status_code == 401
    token = login(airflow)
    dag = wait_for_dag(airflow, token)
    assert dag["is_paused"] is False and {"revcert", "certified"} <= {t["name"] for t in dag["tags"]}
    assert api(airflow, "/revcert/", token).status_code == 200
    plugins = api(airflow, "/api/v2/plugins", token).json()["plugins"]
    views = [view for plugin in plugins for view in plugin.get("external_views", [])]
    assert {"name": "Certified revenue", "url_route": "certified-revenue"}.items() <= views[0].items()


@pytest.mark.timeout(900)
def test_a_backfill_over_three_dates_equals_one_run_as_of_the_latest(airflow, airflow_db, monkeypatch, warehouse_url,
                                                                    small_org, slack, tmp_path):
    token = login(airflow)
    wait_for_dag(airflow, token)
    airflow.airflow("backfill", "create", "--dag-id", "certified_mrr", "--from-date", "2026-11-20T06:00:00+00:00",
                    "--to-date", "2026-11-21T06:00:00+00:00", "--max-active-runs", "1",
                    # The scheduler may already have run today's 06:00 on its own; the backfill reprocesses it.
                    "--reprocess-behavior", "completed")
    deadline = time.monotonic() + 600
    while True:
        backfills = api(airflow, "/api/v2/backfills", token, dag_id="certified_mrr").json()["backfills"]
        if backfills and all(b["completed_at"] for b in backfills):
            break
        assert time.monotonic() < deadline, f"the backfill did not complete: {backfills}"
        time.sleep(5)
    runs = api(airflow, "/api/v2/dags/certified_mrr/dagRuns", token,
               logical_date_gte="2026-11-20T00:00:00Z").json()["dag_runs"]
    assert sorted((r["logical_date"][:16], r["state"]) for r in runs) == [
        ("2026-11-20T06:00", "success"), ("2026-11-20T18:00", "success"), ("2026-11-21T06:00", "success")]

    state, _ = run_dag(load_certified_mrr_dag(), monkeypatch, warehouse_url, SalesforceOrg.from_snapshot(small_org),
                       slack, as_of=date(2026, 11, 21), tmp_path=tmp_path)
    assert state == "success"

    def figures(url: str) -> list[tuple]:
        with psycopg.connect(url) as conn:
            return conn.execute(f"select {', '.join(FIGURES)} from viz.mrr_bridge order by month, "
                                "business_unit").fetchall()

    backfilled = figures(airflow.warehouse_url)
    assert backfilled and backfilled == figures(warehouse_url)
    with psycopg.connect(airflow.warehouse_url) as conn:
        certified = conn.execute("select count(*) from certification.certification_run "
                                 "where status = 'certified'").fetchone()[0]
        lease = conn.execute("select holder_run_id from certification.warehouse_lease").fetchone()[0]
    assert certified >= 3 and lease is None
