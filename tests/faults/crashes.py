"""Runs of a DAG in a child process (as `revcert run` starts them) that the crash tests kill with SIGKILL:
at the start of a task (the listener in crash_plugin/ kills its own process), or inside a task's
transaction (the test holds a row lock the transaction needs, waits until it is blocked there, and kills
the process group)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from revcert.local.run import airflow_connection
from tests.airflow_harness import wait_until
from tests.faults.checks import viz_fingerprint

PLUGIN_FOLDER = Path(__file__).resolve().parent / "crash_plugin"
KILLED = -signal.SIGKILL
# The embedded server trusts loopback, so this password opens nothing; it is here to be looked for in the logs.
WAREHOUSE_PASSWORD = "crash-suite-warehouse-password"


def other_sessions(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from pg_stat_activity where datname = current_database() "
                        "and pid <> pg_backend_pid()").fetchone()[0]


@dataclass
class ChildRuns:
    """Runs of `dag_id` with `conf` against the warehouse at `url`, the other connections in `connections`."""

    dag_id: str
    conf: dict
    url: str
    connections: dict[str, str]
    work_dir: Path
    _numbers: count = field(default_factory=lambda: count(1))

    def _start(self, **crash: str) -> tuple[subprocess.Popen, Path]:
        number = next(self._numbers)
        log = self.work_dir / f"run-{number}.log"
        env = {**os.environ, **self.connections, **crash,
               "AIRFLOW_CONN_REVCERT_WAREHOUSE": airflow_connection(make_conninfo(self.url,
                                                                                  password=WAREHOUSE_PASSWORD)),
               "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGIN_FOLDER),
               "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False"}
        started = datetime.now(timezone.utc).isoformat()
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "revcert.local.dag_test", self.dag_id, started, json.dumps(self.conf),
                 str(self.work_dir / f"run-{number}.json")],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return process, log

    def run(self, *, kill_at: str | None = None, timeout: float = 300) -> int:
        """One run to its end, or killed as `kill_at` starts; its exit status (KILLED when killed)."""
        process, log = self._start(**({"REVCERT_TEST_KILL_AT": kill_at} if kill_at else {}))
        status = process.wait(timeout=timeout)
        assert status in (0, KILLED), log.read_text()[-3000:]
        self._settle()
        return status

    def kill_as_each_starts(self, task_ids: tuple[str, ...], viz_before: str) -> None:
        """A run killed as each task starts, one after another: viz stays byte for byte as it was."""
        for task_id in task_ids:
            assert self.run(kill_at=task_id) == KILLED, task_id
            assert viz_fingerprint(self.url) == viz_before, f"killed as {task_id} started"

    def run_killed_inside(self, task_id: str, records_to_lock: str) -> int:
        """One run killed inside `task_id`'s transaction: blocked on the certification rows `records_to_lock`
        selects (the task writes them last, in the same transaction as its figures), then SIGKILL."""
        signals = self.work_dir / f"signals-{task_id}-{next(self._numbers)}"
        signals.mkdir()
        process, log = self._start(REVCERT_TEST_PAUSE_AT=task_id, REVCERT_TEST_SIGNAL_DIR=str(signals))
        wait_until(lambda: (signals / "paused").exists() or process.poll() is not None, f"{task_id} to start")
        assert process.poll() is None, log.read_text()[-3000:]
        # pg_stat_activity is read once per transaction: the watcher reads it outside the blocker's.
        with psycopg.connect(self.url) as blocker, psycopg.connect(self.url, autocommit=True) as watcher:
            ids = [row[0] for row in blocker.execute(records_to_lock)]
            assert ids, records_to_lock
            blocker.execute("select 1 from certification.certification_run where certification_id = any(%s) "
                            "for update", [ids])
            (signals / "go").touch()
            wait_until(lambda: watcher.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and wait_event_type = 'Lock'").fetchone()[0] > 0, f"{task_id} to block inside its transaction")
            os.killpg(process.pid, signal.SIGKILL)
            status = process.wait(timeout=60)
            blocker.rollback()
        self._settle()
        return status

    def _settle(self) -> None:
        """Wait until the dead run's sessions are gone (PostgreSQL rolls their transactions back)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            wait_until(lambda: other_sessions(conn) == 0, "the killed run's sessions to end")

    def logs(self) -> str:
        """Everything every run printed: Airflow's log and each task's."""
        return "".join(log.read_text() for log in self.work_dir.glob("run-*.log"))

    def outcome(self) -> dict:
        """What the last run that ended wrote (its state and its tasks' states)."""
        results = sorted(self.work_dir.glob("run-*.json"), key=lambda p: int(p.stem.split("-")[1]))
        return json.loads(results[-1].read_text())


def records(url: str, dag_id: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select certification_id, scope, status, published_at is not null "
                            "from certification.certification_run where dag_id = %s order by certification_id",
                            [dag_id]).fetchall()


def takeovers(url: str, lease: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("select reason from certification.warehouse_lease_event "
                                               "where lease_name = %s and event = 'taken_over' order by event_id",
                                               [lease])]


def assert_kept_secret(secrets: list[str], logs: str, messages: list[str]) -> None:
    """No password, token or webhook path in any task's log or any Slack message of any run, killed or not."""
    assert "[DAG TEST] end task" in logs
    for secret in secrets:
        assert secret not in logs and not any(secret in message for message in messages), secret[:6]
