"""Every DAG imports without error, has tags, an owner and retries, and does no database work at parse time."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "certified_mrr" in dagbag.dags


def test_every_dag_has_tags_an_owner_and_retries(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)
            assert task.retries is not None, (dag_id, task.task_id)


def test_certified_mrr_shape(dagbag):
    dag = dagbag.dags["certified_mrr"]
    order = ["migrate", "extract", "stage", "transform", "identity_check", "certify", "publish", "notify"]
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids, (upstream, downstream)
    assert dag.max_active_runs == 1 and not dag.catchup
    assert dag.get_task("certify").retries == 0 and dag.get_task("certify").trigger_rule == "all_done"
    assert dag.get_task("extract").retries >= 3 and dag.get_task("extract").retry_exponential_backoff
    assert dag.get_task("notify").trigger_rule == "all_done"
    assert dag.timetable.expression == "0 6,18 * * *"


def test_parsing_touches_no_database_or_network(monkeypatch):
    """Import the DAG files with sockets and connection lookups forbidden."""
    import importlib.util

    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file opened a connection at parse time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr("psycopg.connect", refuse)
    monkeypatch.setattr("airflow.sdk.BaseHook.get_connection", refuse)
    for path in DAGS_FOLDER.glob("*.py"):
        spec = importlib.util.spec_from_file_location(f"parse_check_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
