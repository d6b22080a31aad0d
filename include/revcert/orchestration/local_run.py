"""Run the certified_mrr DAG in-process (`dag.test`), as `revcert run` does.

The same DAG code as in production runs against a local Airflow home (SQLite
metadata, migrated on first use), with the connections pointed at the warehouse,
the Salesforce org (or the stand-in serving a snapshot) and Slack (or a local
webhook receiver that keeps the messages). Airflow's own log goes to a file.

`prepare_airflow_home` must run before anything imports Airflow.
"""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from revcert.settings import PROJECT_ROOT, Settings

DAG_ID = "certified_mrr"


def prepare_airflow_home(settings: Settings) -> Path:
    """Point Airflow at this project's local home and DAGs (unless the caller already chose a home)."""
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(settings.home / "airflow")))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    return home


def migrate_airflow_metadata(log_file: Path) -> None:
    """`airflow db migrate` (idempotent) for the local metadata database."""
    with log_file.open("a") as log:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=log, stderr=log)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the run only (connections for this run, not the next)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _output_to(log_file: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (Airflow's task logs) to a file while the run lasts."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@dataclass(frozen=True)
class LocalRunResult:
    state: str
    task_states: dict[str, str]
    certification_id: int | None
    extraction_audit: str
    report: str
    slack_messages: list[str]
    log_file: Path

    @property
    def certified(self) -> bool:
        return self.state == "success"


def run_certified_mrr(*, snapshot: Path | None = None, salesforce_conn: str | None = None,
                      database_url: str | None = None, as_of: date | None = None, full: bool = False,
                      settings: Settings | None = None) -> LocalRunResult:
    """Run the certified_mrr DAG once, end to end, and report what it certified and published."""
    settings = settings or Settings()
    home = prepare_airflow_home(settings)
    log_file = home / "revcert-run.log"
    log_file.write_text("")
    migrate_airflow_metadata(log_file)

    import psycopg
    from airflow.dag_processing.dagbag import DagBag

    from revcert.extraction.audit import format_batch_audit, read_batch_audit
    from revcert.publishing.bridge_report import certified_bridge_report
    from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
    from revcert.standins.slack import SlackWebhookReceiver
    from revcert.warehouse.database import warehouse_url

    url = warehouse_url(database_url, settings)
    zone = ZoneInfo(settings.business_timezone)
    logical_date = (datetime.combine(as_of, time(6), tzinfo=zone) if as_of else datetime.now(zone))
    with ExitStack() as stack:
        connections = {"AIRFLOW_CONN_REVCERT_WAREHOUSE": url}
        if snapshot is not None:
            standin = stack.enter_context(SalesforceStandIn(SalesforceOrg.from_snapshot(snapshot)))
            connections["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = standin.airflow_connection()
        elif salesforce_conn:
            connections["REVCERT_SALESFORCE_CONN_ID"] = salesforce_conn
        receiver = None
        if "AIRFLOW_CONN_SLACK_ONCALL" not in os.environ:
            receiver = stack.enter_context(SlackWebhookReceiver())
            connections["AIRFLOW_CONN_SLACK_ONCALL"] = receiver.airflow_connection()
        stack.enter_context(_environment(connections))
        with _output_to(log_file):
            dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag(DAG_ID)
            run = dag.test(logical_date=logical_date,
                           run_conf={"as_of": as_of.isoformat() if as_of else None, "full_extraction": full})
        messages = receiver.texts if receiver else []
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    with psycopg.connect(url) as conn:
        found = conn.execute("select certification_id, extraction_batch_id from certification.certification_run "
                             "where dag_id = %s and run_id = %s", [DAG_ID, run.run_id]).fetchone()
        certification_id, batch_id = found or (None, None)
        audit = format_batch_audit(read_batch_audit(conn, batch_id)) if batch_id else "No extraction batch."
        report = certified_bridge_report(conn)
    return LocalRunResult(str(run.state), states, certification_id, audit, report, messages, log_file)
