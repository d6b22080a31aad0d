"""Run the certified_mrr DAG once, in a local Airflow home, as `revcert run` does.

The same DAG code as in production runs with `dag.test` in a child process
(revcert.local.dag_test) against a local Airflow home (SQLite metadata,
migrated on first use), with the connections pointed at the warehouse, the
Salesforce org (or the stand-in serving a snapshot, from this process) and
Slack (or a local webhook receiver that keeps the messages). Airflow's own log
goes to a file; the console gets what a person needs while it runs (who holds
the warehouse, if it has to wait) and the outcome.

The as-of date is a param, never the run's logical date: every invocation is a
new run (its logical date is the moment it starts), so the same command can be
repeated any number of times, and any past as-of date runs. One `revcert run`
works in a local Airflow home at a time (a file lock that dies with its
holder); whatever an earlier one left running there is dead, and is marked so.
SIGTERM and Ctrl-C stop the run: the child is ended, the warehouse lease given
back, the run's record closed as abandoned, and the console says so.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import IO

from revcert.settings import Settings

DAG_ID = "certified_mrr"


class RunStopped(KeyboardInterrupt):
    """SIGTERM or Ctrl-C arrived while the run was going; the message says what state it left."""


def dags_folder() -> Path:
    return Path(str(files("revcert.dags")))


def prepare_airflow_home(settings: Settings) -> Path:
    """Point Airflow at this project's local home and DAGs (unless the caller already chose a home)."""
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(settings.home.resolve() / "airflow")))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(dags_folder()))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    return home


def migrate_airflow_metadata(home: Path, log_file: Path) -> None:
    """`airflow db migrate` for the local metadata database, once per database and Airflow version.

    The migration itself is idempotent but costs seconds; a stamp beside the
    database remembers which Airflow version last migrated which database.
    """
    from importlib.metadata import version

    database = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    stamp = home / ".revcert-migrated"
    expected = f"{version('apache-airflow')} {database}"
    sqlite_file = Path(database.removeprefix("sqlite:///")) if database.startswith("sqlite:///") else None
    if stamp.exists() and stamp.read_text() == expected and (sqlite_file is None or sqlite_file.exists()):
        return
    with log_file.open("a") as log:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=log, stderr=log)
    stamp.write_text(expected)


@contextmanager
def _stopping_on_sigterm() -> Iterator[None]:
    """SIGTERM becomes RunStopped (as Ctrl-C is KeyboardInterrupt), so the run unwinds through its clean-up."""
    def stop(signum: int, frame: object) -> None:
        raise RunStopped("stopped by SIGTERM")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _one_run_per_home(home: Path, console: IO[str]) -> Iterator[int]:
    """Hold the home's run lock (it dies with its holders); a second run waits for it, saying so. Yields its fd."""
    with (home / "revcert-run.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Another `revcert run` is using {home}; waiting for it to finish...", file=console, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield lock.fileno()


class _LeaseWatcher(threading.Thread):
    """Tells the console, every half minute, who holds the warehouse while this run waits for it."""

    def __init__(self, dsn: str, lease: str, holder_name: str, console: IO[str], every_seconds: float = 30) -> None:
        super().__init__(name="lease-watcher", daemon=True)
        self.dsn, self.lease, self.holder_name = dsn, lease, holder_name
        self.console, self.every_seconds = console, every_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        from revcert.warehouse.lease import read_lease

        pause = 2.0
        while not self.stopping.wait(pause):
            try:
                state = read_lease(self.dsn, self.lease)
            except Exception:  # the run itself reports a warehouse it cannot reach
                continue
            if state.holder is not None and state.holder.name == self.holder_name:
                return
            if state.holder is not None:
                print(f"Waiting for the warehouse: {state.describe()}. Ctrl-C stops this run.",
                      file=self.console, flush=True)
                pause = self.every_seconds


@dataclass(frozen=True)
class LocalRunResult:
    state: str
    run_id: str
    task_states: dict[str, str]
    certification_id: int | None
    certification_status: str | None
    published: bool
    extraction_audit: str
    report: str
    slack_messages: list[str]
    log_file: Path

    @property
    def certified(self) -> bool:
        """Certified and published (or certified, for a certify-only run), by a record of this run's own."""
        return self.state == "success" and self.certification_status == "certified" and self.published


def _stop(child: subprocess.Popen) -> None:
    """End the child's whole process group, politely first."""
    for signum, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _close_stopped_run(dsn: str, dag_id: str, run_id: str, as_of: date, why: str) -> str:
    """Give the lease back and close the stopped run's records (its shops' too); returns what state it left."""
    from revcert.certification.record import (
        abandon_certification,
        certification_of_run,
        record_abandoned,
        scoped_certifications,
    )
    from revcert.warehouse.connection import connect
    from revcert.warehouse.lease import LeaseHolder, release_lease

    released = release_lease(dsn, LeaseHolder.of_dag_run(dag_id, run_id))
    with connect(dsn) as conn:
        certification_id = certification_of_run(conn, dag_id, run_id)
        if certification_id is None:
            record_abandoned(conn, dag_id, run_id, as_of, why)
            return f"{why} before it held the warehouse; nothing was changed"
        for record in (certification_id, *scoped_certifications(conn, dag_id, run_id).values()):
            abandon_certification(conn, record, why)
    return (f"{why}: certification {certification_id} closed as abandoned, "
            f"{'the warehouse lease given back' if released else 'no warehouse lease was held'}; "
            "the published figures are unchanged")


@dataclass(frozen=True)
class DagRunOutcome:
    """What the child process reported: the run, its state, and each task's state."""

    dsn: str
    run_id: str
    state: str
    tasks: dict[str, str]
    slack_messages: list[str]
    log_file: Path


def run_dag_locally(dag_id: str, conf: dict, *, as_of: date, database_url: str | None,
                    connections: Callable[[ExitStack, Settings], dict[str, str]],
                    settings: Settings, console: IO[str]) -> DagRunOutcome:
    """Run a DAG once with `dag.test` in a child process, the run's connections set by `connections`.

    Raises:
        RunStopped: SIGTERM or Ctrl-C, or the child died; the run was closed cleanly first.
    """
    home = prepare_airflow_home(settings)
    log_file = home / "revcert-run.log"

    from revcert.standins.slack import SlackWebhookReceiver
    from revcert.warehouse import migrate
    from revcert.warehouse.connection import warehouse_dsn

    dsn = warehouse_dsn(database_url, settings)
    migrate.upgrade(dsn)
    with ExitStack() as stack:
        stack.enter_context(_stopping_on_sigterm())
        lock = stack.enter_context(_one_run_per_home(home, console))
        log_file.write_text("")
        migrate_airflow_metadata(home, log_file)
        env = {**os.environ, "AIRFLOW_CONN_" + settings.warehouse_conn_id.upper(): airflow_connection(dsn),
               **connections(stack, settings)}
        receiver = None
        if "AIRFLOW_CONN_" + settings.slack_conn_id.upper() not in os.environ:
            receiver = stack.enter_context(SlackWebhookReceiver())
            env["AIRFLOW_CONN_" + settings.slack_conn_id.upper()] = receiver.airflow_connection()
        started = datetime.now(timezone.utc)
        result_file = home / "revcert-run-result.json"
        result_file.unlink(missing_ok=True)
        with log_file.open("a") as log:
            child = subprocess.Popen([sys.executable, "-m", "revcert.local.dag_test", dag_id, started.isoformat(),
                                      json.dumps(conf), str(result_file)],
                                     env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     pass_fds=(lock,))
        run_id = f"manual__{started.isoformat()}"
        watcher = _LeaseWatcher(dsn, dag_id, f"{dag_id}/{run_id}", console)
        watcher.start()
        try:
            child.wait()
        except KeyboardInterrupt as stopped:
            _stop(child)
            why = "stopped by SIGTERM" if isinstance(stopped, RunStopped) else "stopped by Ctrl-C"
            raise RunStopped(_close_stopped_run(dsn, dag_id, run_id, as_of, why)) from None
        finally:
            watcher.stopping.set()
        messages = receiver.texts if receiver else []
        if not result_file.exists():
            why = f"the DAG run's process died (exit {child.returncode}; its log: {log_file})"
            raise RunStopped(_close_stopped_run(dsn, dag_id, run_id, as_of, why))
    outcome = json.loads(result_file.read_text())
    return DagRunOutcome(dsn, outcome["run_id"], outcome["state"], outcome["tasks"], messages, log_file)


def run_certified_mrr(*, snapshot: Path | None = None, salesforce_conn: str | None = None,
                      database_url: str | None = None, as_of: date, full: bool = False,
                      settings: Settings | None = None, console: IO[str] | None = None) -> LocalRunResult:
    """Run the certified_mrr DAG once, end to end, and report what it certified and published.

    Raises:
        RunStopped: SIGTERM or Ctrl-C; the run was closed cleanly first (the message says how).
    """
    from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn

    def connections(stack: ExitStack, settings: Settings) -> dict[str, str]:
        if snapshot is not None:
            standin = stack.enter_context(SalesforceStandIn(SalesforceOrg.from_snapshot(snapshot)))
            return {"AIRFLOW_CONN_" + settings.salesforce_conn_id.upper(): standin.airflow_connection()}
        return {"REVCERT_SALESFORCE_CONN_ID": salesforce_conn} if salesforce_conn else {}

    conf = {"as_of": as_of.isoformat(), "full_extraction": full, "certify_only": False, "restate": False}
    run = run_dag_locally(DAG_ID, conf, as_of=as_of, database_url=database_url, connections=connections,
                          settings=settings or Settings(), console=console or sys.stdout)
    return _outcome(run)


def airflow_connection(dsn: str) -> str:
    """The warehouse as an Airflow connection in JSON form, every libpq parameter kept."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    fields = {"conn_type": "postgres", "host": params.pop("host", None), "port": params.pop("port", None),
              "login": params.pop("user", None), "password": params.pop("password", None),
              "schema": params.pop("dbname", None), "extra": params}
    return json.dumps({key: value for key, value in fields.items() if value not in (None, "", {})})


def _outcome(run: DagRunOutcome) -> LocalRunResult:
    from revcert.certification.record import certification_of_run, read_certification
    from revcert.publishing.reports import certified_bridge_report
    from revcert.staging.audit import format_batch_audit, read_batch_audit
    from revcert.warehouse.connection import connect

    with connect(run.dsn) as conn:
        certification_id = certification_of_run(conn, DAG_ID, run.run_id)
        certification = read_certification(conn, certification_id) if certification_id else None
        batch_id = certification.extraction_batch_id if certification else None
        audit = format_batch_audit(read_batch_audit(conn, batch_id)) if batch_id else "No extraction batch."
        report = certified_bridge_report(conn)
    published = bool(certification and (certification.published_at or certification.is_certify_only))
    return LocalRunResult(run.state, run.run_id, run.tasks, certification_id,
                          certification.status if certification else None, published, audit, report,
                          run.slack_messages, run.log_file)
