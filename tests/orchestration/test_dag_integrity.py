"""Every DAG imports without error, has tags, an owner and a declared retry policy, and does no
database or network work at parse time."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from revcert.orchestration.dag_settings import READS_A_SOURCE, RETRY_POLICY

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_every_dag_imports(dagbag):
    assert dagbag.import_errors == {}
    assert "certified_mrr" in dagbag.dags


def test_every_dag_has_tags_a_doc_and_an_owner(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and dag.doc_md, dag_id
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", (dag_id, task.task_id)


def test_every_task_follows_the_declared_retry_policy(dagbag):
    """A retry only where a second try cannot double anything; each number has its reason in RETRY_POLICY."""
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            expected, why = RETRY_POLICY[task.task_id.split(".")[-1]]
            assert task.retries == expected, (task.task_id, why)
            assert why
    certified_mrr = dagbag.dags["certified_mrr"]
    extract = certified_mrr.get_task("extract")
    assert extract.retries >= 1 and extract.retry_exponential_backoff
    for reports_once in ("certify", "close_run"):
        assert certified_mrr.get_task(reports_once).retries == 0, reports_once
    # Taken again only when the worker was lost: a broken rule is an AirflowFailException, never retried.
    for rebuilt_whole in ("transform", "identity_check"):
        assert certified_mrr.get_task(rebuilt_whole).retries == 1, rebuilt_whole


def test_source_reads_and_warehouse_work_go_to_their_own_celery_queues(dagbag):
    queues = {}
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            queues.setdefault(task.queue, set()).add(task.task_id.split(".")[-1])
    assert queues["extraction"] == set(READS_A_SOURCE) == {"extract", "reconcile_shop"}
    assert {"migrate", "open_run", "stage", "transform", "certify", "publish", "close_run", "repair"} <= \
        queues["warehouse"]
    assert set(queues) == {"extraction", "warehouse"}


def test_certified_mrr_reads_as_the_pipeline(dagbag):
    dag = dagbag.dags["certified_mrr"]
    order = ["migrate", "open_run", "extract", "stage", "observe_batch", "transform", "identity_check",
             "observe_figures", "certify", "publish", "close_run"]
    assert [t.task_id for t in dag.topological_sort()] == order
    for upstream, downstream in zip(order, order[1:]):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}, upstream
    assert dag.max_active_runs == 1 and not dag.catchup
    for always_runs in ("certify", "publish", "close_run"):
        assert dag.get_task(always_runs).trigger_rule == "all_done", always_runs
    assert dag.timetable.expression == "0 6,18 * * *"
    assert set(dag.params) == {"as_of", "full_extraction", "certify_only", "restate", "release_hold"}
    # A hold stops the run before transform: transform runs only when the observation let it.
    assert dag.get_task("transform").trigger_rule == "all_success"
    assert dag.params["release_hold"] == []


def test_shop_daily_revenue_reads_as_the_pipeline_with_a_mapped_shop_group(dagbag):
    """The same shape as certified_mrr, with extraction and staging mapped per shop so one shop's failure
    stays its own; everything after runs whatever the shops did (all_done) and sorts them out itself."""
    dag = dagbag.dags["shop_daily_revenue"]
    order = ["migrate", "open_run", "select_shops", "shop.extract", "shop.stage", "observe_batch", "transform",
             "observe_figures", "certify", "publish", "close_run"]
    assert [t.task_id for t in dag.topological_sort()] == order
    for upstream, downstream in zip(order, order[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids, upstream
    assert {t.task_id for t in dag.tasks if t.task_id.startswith("shop.")} == {"shop.extract", "shop.stage"}
    assert type(dag.task_group_dict["shop"]).__name__ == "MappedTaskGroup"
    for always_runs in ("observe_batch", "transform", "observe_figures", "certify", "publish", "close_run"):
        assert dag.get_task(always_runs).trigger_rule == "all_done", always_runs
    assert [o.uri for o in dag.get_task("publish").outlets] == ["warehouse://viz/shop_daily_revenue"]
    assert dag.max_active_runs == 1 and not dag.catchup and dag.timetable.expression == "0 6,18 * * *"
    assert set(dag.params) == {"as_of", "shops", "from", "to", "full_extraction", "release_hold"}


def test_parsing_touches_no_database_or_network():
    """Import each DAG file in a fresh interpreter with sockets and connection lookups forbidden first,
    so nothing a test or the DagBag already imported can hide parse-time work."""
    for path in DAGS_FOLDER.glob("*.py"):
        if path.name == "__init__.py":
            continue
        script = textwrap.dedent(f"""
            import importlib.util, socket
            import psycopg
            def refuse(*args, **kwargs):
                raise AssertionError("a DAG file opened a connection at parse time")
            socket.socket.connect = refuse
            psycopg.connect = refuse
            from airflow.sdk import BaseHook
            BaseHook.get_connection = refuse
            spec = importlib.util.spec_from_file_location("parse_check", {str(path)!r})
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            print("parsed")
        """)
        parsed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert parsed.returncode == 0 and "parsed" in parsed.stdout, parsed.stderr[-2000:]


def test_shop_revenue_reconciliation_runs_after_each_publish_and_daily_and_repairs_through_the_revenue_dag(dagbag):
    """Scheduled on the published asset or a daily cron; one mapped task per sampled shop; the repair is a
    trigger of shop_daily_revenue (never a write to viz); the summary runs whatever the shops did."""
    dag = dagbag.dags["shop_revenue_reconciliation"]
    order = ["migrate", "open_reconciliation_run", "reconcile_shop", "summarize", "repair", "finish"]
    assert [t.task_id for t in dag.topological_sort()] == order
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert dag.timetable.timetable.expression == "30 7 * * *"
    assert [asset.uri for asset in dag.timetable.asset_condition.objects] == [
        "warehouse://viz/shop_daily_revenue"]
    assert type(dag.get_task("reconcile_shop")).__name__.endswith("MappedOperator")
    repair = dag.get_task("repair")
    assert type(repair).__name__ == "MappedOperator" and repair.partial_kwargs["trigger_dag_id"] == "shop_daily_revenue"
    assert dag.get_task("summarize").trigger_rule == "all_done"
    assert set(dag.params) == {"fraction", "all_shops", "days", "seed", "as_of"}
    assert dag.params["fraction"] == 0.05 and dag.params["days"] == 7
