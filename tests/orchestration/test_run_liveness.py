"""Whether a waiting run may take the warehouse over is decided by the state Airflow gives for the
holder's DAG run, in the form a Celery or local worker receives it (the Task SDK's enum)."""
from __future__ import annotations

import pytest
from airflow.sdk.api.datamodels._generated import DagRunState
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

from revcert.orchestration.runs import dag_run_alive
from revcert.warehouse.lease import LeaseHolder

HOLDER = LeaseHolder.of_dag_run("certified_mrr", "manual__2026-11-21T06:00:00+00:00", 1)


@pytest.mark.parametrize(("state", "alive"), [
    (DagRunState.QUEUED, True), (DagRunState.RUNNING, True), (DagRunState.SUCCESS, False),
    (DagRunState.FAILED, False), ("running", True), ("failed", False)])
def test_a_holder_is_alive_while_airflow_says_its_run_is_queued_or_running(monkeypatch, state, alive):
    monkeypatch.setattr(RuntimeTaskInstance, "get_dagrun_state", staticmethod(lambda dag_id, run_id: state))
    assert dag_run_alive(HOLDER) is alive


def test_nothing_can_tell_about_a_run_airflow_does_not_know(monkeypatch):
    def unknown(dag_id, run_id):
        raise RuntimeError("DagRun not found")

    monkeypatch.setattr(RuntimeTaskInstance, "get_dagrun_state", staticmethod(unknown))
    assert dag_run_alive(HOLDER) is None
    assert dag_run_alive(LeaseHolder("revcert run on host-1 pid 42")) is None
