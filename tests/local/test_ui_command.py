"""`revcert ui` (the README's `make ui`) as a person runs it, on the day on-call needs it most: the MRR
demo run fails certification (the shops' certifies), yet Airflow starts, says why the page is not green,
serves the page, and stops cleanly."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from revcert.money import dumps_exact, loads_exact
from revcert.snapshots.salesforce_generator import OrgShape, generate_org
from revcert.snapshots.shopify_generator import ShopShape, generate_shops
from tests.airflow_harness import free_port

pytestmark = pytest.mark.integration


def a_demo_org_that_fails_certification(directory: Path) -> str:
    """A small demo org plus one amendment that takes a customer's MRR below zero; returns that line's Id."""
    generate_org(directory, OrgShape(accounts=30, seed=5))
    lines_file = directory / "SBQQ__Subscription__c.jsonl"
    lines = [loads_exact(text) for text in lines_file.read_text().splitlines()]
    line = next(r for r in lines if not r["IsDeleted"] and r["SBQQ__Quantity__c"] > 0 and r["SBQQ__EndDate__c"])
    negative = {**line, "Id": "a1BNEGATIVEMRR0AAA", "SBQQ__Quantity__c": -line["SBQQ__Quantity__c"] * Decimal(5),
                "SBQQ__RevisedSubscription__c": line["Id"]}
    with lines_file.open("a") as out:
        out.write(dumps_exact(negative) + "\n")
    return negative["Id"]


@pytest.mark.timeout(900)
def test_the_ui_command_starts_airflow_when_the_demo_run_fails_and_says_why(tmp_path: Path):
    port = free_port()
    home = tmp_path / "revcert-home"
    bad_line = a_demo_org_that_fails_certification(home / "demo-org")
    generate_shops(home / "demo-shops", ShopShape(shops=3, orders=300, seed=3))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(REVCERT_HOME=str(home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    output = (tmp_path / "ui.out").open("w")
    process = subprocess.Popen([sys.executable, "-m", "revcert.cli", "ui", "--port", str(port)], env=env,
                               stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Two demo runs, then standalone, which may itself wait 420 s on a loaded machine.
        deadline = time.monotonic() + 780
        while "Ctrl-C stops everything." not in (tmp_path / "ui.out").read_text():
            assert process.poll() is None, (tmp_path / "ui.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "revcert ui did not come up"
            time.sleep(2)
        printed = (tmp_path / "ui.out").read_text()
        assert "Traceback" not in printed
        assert "certified_mrr: the demo run as of" in printed and "negative_customer_mrr" in printed
        assert "was NOT certified, so the page is not green" in printed
        # Why, check by check: the one that failed with its rule, the ones it kept from running as blocked.
        assert "  run: failed check integrity: negative_customer_mrr: 1 record(s)" in printed
        assert ("  run: blocked, not run because an earlier step failed: detail_sums, movement_identity, "
                "independent_derivation") in printed
        assert "shop_daily_revenue: certified and published as of" in printed
        assert f"Airflow UI: {base}" in printed and "user: admin" in printed
        # The api-server's first answer can take long on a loaded machine (a 10-second limit timed out in CI-like
        # runs); the health it reports is what is asserted.
        assert requests.get(f"{base}/api/v2/monitor/health", timeout=60).json()["metadatabase"]["status"] == "healthy"

        password = json.loads((home / "airflow-ui" / "simple_auth_manager_passwords.json.generated").read_text())
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password["admin"]},
                              timeout=30).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        dag = requests.get(f"{base}/api/v2/dags/certified_mrr", headers=headers, timeout=30).json()
        assert dag["is_paused"] is False
        runs = requests.get(f"{base}/api/v2/dags/certified_mrr/dagRuns", headers=headers,
                            params={"run_type": "manual"}, timeout=30).json()["dag_runs"]
        assert [run["state"] for run in runs] == ["failed"]
        assert f"(run {runs[0]['dag_run_id']}) was NOT certified" in printed
        assert requests.get(f"{base}/revcert/", headers=headers, timeout=30).status_code == 200
        assert requests.get(f"{base}/revcert/api/v1/months", headers=headers, timeout=30).json() == []
        history = requests.get(f"{base}/revcert/api/v1/certifications", headers=headers, timeout=30,
                               params={"pipeline": "certified_mrr"}).json()
        assert history[0]["status"] == "failed" and bad_line in json.dumps(history[0]["checks"])
        shops = requests.get(f"{base}/revcert/api/v1/shops", headers=headers, timeout=30).json()
        assert len(shops) == 3 and {s["latest_status"] for s in shops} == {"certified"}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    assert process.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/api/v2/monitor/health", timeout=5)
    assert not (home / "pgdata" / "postmaster.pid").exists()
