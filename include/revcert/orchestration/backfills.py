"""A backfill posts one Slack message: the summary its last run sends when it closes.

Airflow 3 tells a task that its run belongs to a backfill (run type `backfill`)
but not which one, and a task may not read the metadata database. The Task SDK
is enough: Airflow lets a DAG have one backfill in progress at a time and
creates every run of a backfill (queued) when the backfill is created, so the
DAG's queued and running backfill runs are the rest of this backfill. Each run
of a backfill, when it closes, adds itself to the runs of the backfill in
progress (an Airflow Variable per DAG); the run that finds no other run of the
backfill still to close takes the list, forgets it, and posts the summary.
Runs closing at once take turns under a warehouse advisory lock, so exactly one
of them finds the others closed.
"""
from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import Variable

from revcert.warehouse.connection import connect

# Later than any logical date: the previous-run lookup walks back from here.
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=timezone.utc)


def _variable(dag_id: str) -> str:
    return f"revcert_backfill_runs_{dag_id}"


def unfinished_backfill_runs(dag_id: str) -> set[str]:
    """The run ids of the DAG's queued and running backfill runs, through the Task SDK's previous-run lookup.

    Backfill runs always have a logical date, and a DAG has one run per logical date.
    """
    from airflow.sdk.execution_time.comms import GetPreviousDagRun
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

    found = set()
    for state in ("queued", "running"):
        before = _END_OF_TIME
        while run := SUPERVISOR_COMMS.send(GetPreviousDagRun(dag_id=dag_id, logical_date=before, state=state)).dag_run:
            if run.run_type == "backfill":
                found.add(run.run_id)
            before = run.logical_date
    return found


def close_backfill_run(dsn: str, dag_id: str, run_id: str) -> list[str] | None:
    """Count this run among its backfill's closed runs; the run ids of the whole backfill when it is the last.

    Returns:
        Every run of the backfill (this one last) when no other is still to close, for the summary; else None.
    """
    with connect(dsn) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('backfill summary'), hashtext(%s))", [dag_id])
        before = Variable.get(_variable(dag_id), default=[], deserialize_json=True)
        closed = [*(r for r in before if r != run_id), run_id]
        if unfinished_backfill_runs(dag_id) - set(closed):
            Variable.set(_variable(dag_id), closed, serialize_json=True,
                         description="Runs of the backfill in progress that have closed; its last run posts their "
                                     "summary to Slack and removes this (revcert.orchestration.backfills).")
            return None
        if before:
            Variable.delete(_variable(dag_id))
        return closed
