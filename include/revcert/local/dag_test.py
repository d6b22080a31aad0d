"""The child process of `revcert run`: one `dag.test` run, its outcome written to a JSON file.

    python -m revcert.local.dag_test DAG_ID LOGICAL_DATE CONF_JSON RESULT_FILE

It runs with the connections and the Airflow home its parent set, and holds
the home's run lock its parent passed down, so no other run starts in this
home while it lives. DAG runs that an earlier, dead process left `running`
here are marked failed first: the lock proves nothing else is running them.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path


def fail_orphaned_runs() -> None:
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from airflow.utils.state import DagRunState

    session = settings.Session()
    try:
        for run in session.query(DagRun).filter(DagRun.state.in_([DagRunState.RUNNING, DagRunState.QUEUED])):
            run.state = DagRunState.FAILED
        session.commit()
    finally:
        session.close()


def main(argv: list[str]) -> int:
    dag_id, logical_date, conf, result_file = argv
    from airflow.dag_processing.dagbag import DagBag

    from revcert.local.run import dags_folder

    fail_orphaned_runs()
    started = datetime.fromisoformat(logical_date)
    dag = DagBag(dag_folder=str(dags_folder())).get_dag(dag_id)
    run = dag.test(logical_date=started, run_after=started, run_conf=json.loads(conf))
    outcome = {"run_id": run.run_id, "state": str(run.state),
               "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()}}
    Path(result_file).write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
