"""A real Airflow (`airflow standalone`: scheduler, dag-processor, api-server, triggerer) as `make ui`
runs it: log in, see the DAG and the page, trigger with conf, repair a shop's range through the scheduler
and reconcile from the asset it emits, and a backfill's one Slack summary. (A backfill waiting on a run
through a real scheduler is in tests/deployment/test_celery_topology.py, on the production topology.)"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import psycopg
import pytest
import requests

from revcert.local.standalone import LocalAirflow
from revcert.standins.salesforce.server import SalesforceOrg
from revcert.standins.shopify.server import ShopifyStore
from tests.airflow_harness import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def airflow(postgres_server, small_org, small_shops, tmp_path_factory) -> Iterator[LocalAirflow]:
    home = tmp_path_factory.mktemp("airflow-standalone")
    local = LocalAirflow(home, postgres_server, "standalone_warehouse", SalesforceOrg.from_snapshot(small_org),
                         ShopifyStore.from_snapshot(small_shops), port=free_port())
    local.prepare()
    try:
        yield local.start(home / "standalone.log")
    finally:
        local.stop()


def api(airflow: LocalAirflow, path: str, token: str, **params) -> requests.Response:
    return requests.get(f"{airflow.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, params=params,
                        timeout=90)


def login(airflow: LocalAirflow) -> str:
    response = requests.post(f"{airflow.base_url}/auth/token",
                             json={"username": "admin", "password": airflow.admin_password()}, timeout=90)
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


def wait_for_dag(airflow: LocalAirflow, token: str, timeout: float = 120, dag_id: str = "certified_mrr") -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = api(airflow, f"/api/v2/dags/{dag_id}", token)
        if response.status_code == 200:
            return response.json()
        assert time.monotonic() < deadline, f"the DAG never appeared: {response.text}"
        time.sleep(2)


def wait_for_runs(airflow: LocalAirflow, token: str, timeout: float = 600, dag_id: str = "certified_mrr",
                  **filters) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        runs = api(airflow, f"/api/v2/dags/{dag_id}/dagRuns", token, **filters).json()["dag_runs"]
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            return runs
        assert time.monotonic() < deadline, f"runs did not finish: {runs}"
        time.sleep(3)


def test_log_in_and_find_the_unpaused_dag_and_the_page(airflow):
    assert requests.get(f"{airflow.base_url}/revcert/", timeout=90).status_code == 401
    token = login(airflow)
    dag = wait_for_dag(airflow, token)
    assert dag["is_paused"] is False and {"revcert", "certified"} <= {t["name"] for t in dag["tags"]}
    assert api(airflow, "/revcert/", token).status_code == 200
    plugins = api(airflow, "/api/v2/plugins", token).json()["plugins"]
    views = [view for plugin in plugins for view in plugin.get("external_views", [])]
    assert {"name": "Certified revenue", "url_route": "certified-revenue"}.items() <= views[0].items()


def test_the_trigger_refuses_a_future_as_of_and_runs_a_past_logical_date(airflow):
    """Issue 9, defects 1 and 2, as a person triggers with conf through the API the form uses."""
    token = login(airflow)
    wait_for_dag(airflow, token)
    headers = {"Authorization": f"Bearer {token}"}
    future = (date.today() + timedelta(days=400)).isoformat()
    refused = requests.post(f"{airflow.base_url}/api/v2/dags/certified_mrr/dagRuns", headers=headers, timeout=90,
                            json={"logical_date": None, "conf": {"as_of": future}})
    assert refused.status_code == 400 and "revcert-not-future-date" in refused.text
    accepted = requests.post(f"{airflow.base_url}/api/v2/dags/certified_mrr/dagRuns", headers=headers, timeout=90,
                             json={"logical_date": "2025-03-31T06:00:00Z", "conf": {}})
    assert accepted.status_code == 200, accepted.text
    runs = wait_for_runs(airflow, token, logical_date_gte="2025-03-31T00:00:00Z",
                         logical_date_lte="2025-03-31T23:59:59Z")
    assert [r["state"] for r in runs] == ["success"]
    with psycopg.connect(airflow.warehouse_url) as conn:
        record = conn.execute("select as_of_date, status from certification.certification_run where run_id = %s",
                              [runs[0]["dag_run_id"]]).fetchone()
    assert record == (date(2025, 3, 31), "certified")


def test_the_shop_dag_repairs_a_range_of_one_shop_through_the_scheduler(airflow):
    """A person triggers shop_daily_revenue with conf (one shop, a range of days): the scheduler maps one
    extraction for that shop, certifies and publishes it, and emits the asset other DAGs wait for."""
    token = login(airflow)
    dag = wait_for_dag(airflow, token, dag_id="shop_daily_revenue")
    assert dag["is_paused"] is False and "shopify" in {t["name"] for t in dag["tags"]}
    headers = {"Authorization": f"Bearer {token}"}
    triggered = requests.post(f"{airflow.base_url}/api/v2/dags/shop_daily_revenue/dagRuns", headers=headers,
                              timeout=90, json={"logical_date": None, "conf": {
                                  "as_of": "2026-11-20", "shops": ["1003"], "from": "2026-10-01", "to": "2026-11-20"}})
    assert triggered.status_code == 200, triggered.text
    run_id = triggered.json()["dag_run_id"]
    runs = wait_for_runs(airflow, token, dag_id="shop_daily_revenue", run_id_pattern=run_id)
    assert [r["state"] for r in runs if r["dag_run_id"] == run_id] == ["success"]
    instances = api(airflow, f"/api/v2/dags/shop_daily_revenue/dagRuns/{run_id}/taskInstances", token).json()
    extracts = [ti for ti in instances["task_instances"] if ti["task_id"] == "shop.extract"]
    assert [(ti["map_index"], ti["state"]) for ti in extracts] == [(0, "success")]
    with psycopg.connect(airflow.warehouse_url) as conn:
        records = conn.execute("select scope, status, published_at is not null from certification.certification_run "
                               "where run_id = %s order by scope", [run_id]).fetchall()
        repaired = conn.execute("select count(*) from viz.shop_daily_revenue join certification.certification_run "
                                "using (certification_id) where shop_id = '1003' and run_id = %s",
                                [run_id]).fetchone()[0]
    assert records == [("", "certified", True), ("1003", "certified", True)]
    assert repaired >= (date(2026, 11, 20) - date(2026, 10, 1)).days + 1
    events = api(airflow, "/api/v2/assets/events", token, source_dag_id="shop_daily_revenue",
                 source_run_id=run_id).json()["asset_events"]
    assert [e["uri"] for e in events] == ["warehouse://viz/shop_daily_revenue"]


def test_the_shop_publish_schedules_the_reconciliation_through_its_asset(airflow):
    """After the shop DAG publishes, the scheduler starts shop_revenue_reconciliation from the asset event
    (no one triggers it): it compares the published shop with the source and finds it equal."""
    token = login(airflow)
    dag = wait_for_dag(airflow, token, dag_id="shop_daily_revenue")
    assert dag["is_paused"] is False
    if not api(airflow, "/api/v2/assets/events", token, source_dag_id="shop_daily_revenue").json()["asset_events"]:
        headers = {"Authorization": f"Bearer {token}"}
        triggered = requests.post(f"{airflow.base_url}/api/v2/dags/shop_daily_revenue/dagRuns", headers=headers,
                                  timeout=90, json={"logical_date": None, "conf": {"as_of": "2026-11-20",
                                                                                   "shops": ["1003"]}})
        assert triggered.status_code == 200, triggered.text
        wait_for_runs(airflow, token, dag_id="shop_daily_revenue")
    deadline = time.monotonic() + 300
    while True:
        # Its daily schedule may also have started a run on its own (before any shop was published: that one
        # fails, saying nothing was there to reconcile); the one the asset started is the one looked at here.
        runs = [r for r in api(airflow, "/api/v2/dags/shop_revenue_reconciliation/dagRuns", token).json()["dag_runs"]
                if r["run_type"] == "asset_triggered"]
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            break
        assert time.monotonic() < deadline, f"no reconciliation finished: {runs}"
        time.sleep(3)
    assert [r["state"] for r in runs][:1] == ["success"]
    with psycopg.connect(airflow.warehouse_url) as conn:
        [(status, sampled, compared, found)] = conn.execute(
            "select status, shops_sampled, shop_days_compared, discrepancies from monitoring.reconciliation_run "
            "where run_id = %s", [runs[0]["dag_run_id"]]).fetchall()
        published = [row[0] for row in conn.execute("select shop_id from viz.shop order by shop_id")]
    assert status == "clean" and len(sampled) == 1 and sampled[0] in published and compared == 7 and found == 0


def test_a_backfill_posts_one_summary_when_its_last_run_ends_and_no_notice_per_run(airflow):
    """Two runs of a backfill, both allowed to start at once (the second waits on the warehouse lease):
    Slack gets one message for the whole backfill, from whichever run closes last, naming both runs."""
    token = login(airflow)
    wait_for_dag(airflow, token)
    headers = {"Authorization": f"Bearer {token}"}
    morning = datetime(2026, 10, 14, tzinfo=timezone.utc)
    created = requests.post(f"{airflow.base_url}/api/v2/backfills", headers=headers, timeout=90, json={
        "dag_id": "certified_mrr", "from_date": morning.isoformat(), "to_date": (morning + timedelta(hours=23)
                                                                               ).isoformat(),
        "max_active_runs": 2, "reprocess_behavior": "none", "dag_run_conf": {}})
    assert created.status_code == 200, created.text
    backfill_id = created.json()["id"]
    deadline = time.monotonic() + 600
    while not api(airflow, f"/api/v2/backfills/{backfill_id}", token).json()["completed_at"]:
        assert time.monotonic() < deadline, "the backfill did not complete"
        time.sleep(3)
    runs = api(airflow, "/api/v2/dags/certified_mrr/dagRuns", token, run_type="backfill",
               logical_date_gte=morning.isoformat()).json()["dag_runs"]
    run_ids = sorted(r["dag_run_id"] for r in runs)
    assert len(run_ids) == 2 and {r["state"] for r in runs} == {"success"}, runs
    about = [text for text in airflow.slack.texts
             if any(run_id in text or quote(run_id) in text for run_id in run_ids)]
    assert len(about) == 1, about
    assert about[0].startswith(":white_check_mark: *Backfill of `certified_mrr` ended: all 2 run(s) certified.* "
                               "As of 2026-10-14 to 2026-10-14: 2 certified and published"), about[0]
    assert all(f"`{run_id}`" in about[0] for run_id in run_ids)
    assert api(airflow, "/api/v2/variables/revcert_backfill_runs_certified_mrr", token).status_code == 404
