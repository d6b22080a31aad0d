"""An Airflow listener for the crash tests (loaded only by their child runs, through the plugins folder).

REVCERT_TEST_KILL_AT=task_id: SIGKILL this process as that task starts, as a lost worker would die.
REVCERT_TEST_PAUSE_AT=task_id: as that task starts, write `paused` in REVCERT_TEST_SIGNAL_DIR and wait for
`go` there, so the test can take a lock that stops the task inside its transaction, and kill it there.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


class CrashAt:
    @hookimpl
    def on_task_instance_running(self, previous_state, task_instance) -> None:
        task_id = task_instance.task_id
        if task_id == os.environ.get("REVCERT_TEST_KILL_AT"):
            os.kill(os.getpid(), signal.SIGKILL)
        if task_id == os.environ.get("REVCERT_TEST_PAUSE_AT"):
            signals = Path(os.environ["REVCERT_TEST_SIGNAL_DIR"])
            (signals / "paused").write_text(task_id)
            deadline = time.monotonic() + 120
            while not (signals / "go").exists() and time.monotonic() < deadline:
                time.sleep(0.05)


class CrashAtPlugin(AirflowPlugin):
    name = "revcert_test_crash_at"
    listeners = [CrashAt()]
