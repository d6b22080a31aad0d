"""`revcert ui` (the README's `make ui`) as a person runs it: start it, wait for the Airflow UI,
log in, find the DAG with a green last run and the certified-revenue page, then stop it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.airflow_harness import free_port

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_the_ui_command_serves_a_certified_airflow_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    home = tmp_path / "revcert-home"
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env.update(REVCERT_HOME=str(home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    output = (tmp_path / "ui.out").open("w")
    process = subprocess.Popen([sys.executable, "-m", "revcert.cli", "ui", "--port", str(port)], env=env,
                               stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 420
        while "Ctrl-C stops everything." not in (tmp_path / "ui.out").read_text():
            assert process.poll() is None, (tmp_path / "ui.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "revcert ui did not come up"
            time.sleep(2)
        printed = (tmp_path / "ui.out").read_text()
        assert f"Airflow UI: {base}" in printed and "user: admin" in printed
        assert requests.get(f"{base}/api/v2/monitor/health", timeout=10).json()["metadatabase"]["status"] == "healthy"

        password = json.loads((home / "airflow-ui" / "simple_auth_manager_passwords.json.generated").read_text())
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password["admin"]},
                              timeout=30).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        dag = requests.get(f"{base}/api/v2/dags/certified_mrr", headers=headers, timeout=30).json()
        assert dag["is_paused"] is False
        runs = requests.get(f"{base}/api/v2/dags/certified_mrr/dagRuns", headers=headers,
                            params={"run_type": "manual"}, timeout=30).json()["dag_runs"]
        assert [run["state"] for run in runs] == ["success"]
        assert requests.get(f"{base}/revcert/", headers=headers, timeout=30).status_code == 200
        months = requests.get(f"{base}/revcert/api/v1/months", headers=headers, timeout=30).json()
        assert months and months[-1]["snapshot_date"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    assert process.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/api/v2/monitor/health", timeout=5)
    assert not (home / "pgdata" / "postmaster.pid").exists()
