"""The certification gate: an operator that lets publishing run only for certified figures."""
from __future__ import annotations

from typing import Any, Callable

import psycopg
from airflow.sdk import BaseOperator
from airflow.sdk.bases.skipmixin import SkipMixin

from revcert.certification.certify import certify_run
from revcert.certification.record import read_certification
from revcert.notifications.slack import certification_page, send_slack
from revcert.settings import Settings
from revcert.warehouse.lease import renew_lease


class CertificationGateOperator(BaseOperator, SkipMixin):
    """Run checks 1-4 of METHODOLOGY.md Part C on this run's figures, and gate what follows.

    It runs whatever happened upstream (trigger rule `all_done`), so a run that
    failed earlier is still recorded and paged. On any failure it writes the
    certification record, pages Slack with what failed, and skips the tasks
    directly downstream (publishing): they end skipped, not failed, and the
    published figures stay as they were. On success it lets them run.

    Args:
        certification_task_id: The task whose return value is the run's certification id.
        warehouse_url: Returns the warehouse URL when the task runs.
        slack_conn_id: Slack incoming-webhook connection for the page.
        run_url: Builds the link to the run in the Airflow UI from (dag_id, run_id).
        lease_holder: Builds the warehouse lease holder name from (dag_id, run_id).
    """

    ui_color = "#f4d03f"

    def __init__(self, *, certification_task_id: str, warehouse_url: Callable[[], str], slack_conn_id: str,
                 run_url: Callable[[str, str], str], lease_holder: Callable[[str, str], str],
                 **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.certification_task_id = certification_task_id
        self.warehouse_url = warehouse_url
        self.slack_conn_id = slack_conn_id
        self.run_url = run_url
        self.lease_holder = lease_holder

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        certification_id = ti.xcom_pull(task_ids=self.certification_task_id)
        url = self.warehouse_url()
        renew_lease(url, self.lease_holder(ti.dag_id, ti.run_id))
        with psycopg.connect(url) as conn:
            results = certify_run(conn, read_certification(conn, certification_id), Settings())
        with psycopg.connect(url) as conn:
            certification = read_certification(conn, certification_id)
        verdict = {"certification_id": certification_id, "status": certification.status,
                   "checks": {r.check_name: r.passed for r in results}}
        if certification.status == "certified":
            self.log.info("Certification %s passed every check", certification_id)
            return verdict
        self.log.error("Certification %s failed: %s", certification_id,
                       "; ".join(f"{c.check_name}: {c.summary}" for c in certification.failed_checks))
        send_slack(self.slack_conn_id, certification_page(certification, self.run_url(ti.dag_id, ti.run_id)))
        self.skip(ti=ti, tasks=self.get_direct_relatives(upstream=False))
        return verdict
