"""The certification gate: the operator between a run's figures and publishing."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from revcert.certification.certify import certify_run
from revcert.certification.record import (
    Certification,
    certification_of_run,
    fail_certification,
    read_certification,
    record_abandoned,
)
from revcert.notifications.slack import abandoned_page, certification_page, send_slack, unreachable_page
from revcert.orchestration.as_of import requested_as_of
from revcert.settings import Settings
from revcert.warehouse.connection import WarehouseUnreachable, connect
from revcert.warehouse.lease import LeaseHolder, heartbeat


class CertificationGateOperator(BaseOperator):
    """Run checks 1-4 of METHODOLOGY.md Part C on this run's figures, and stop the run if any fails.

    It runs whatever happened upstream (trigger rule `all_done`), so a run that
    failed earlier is still recorded and paged: this gate is the one place a
    failed run pages on-call, once. On any failure it writes the certification
    record, pages Slack with what failed, and ends failed (red, where the
    problem is). Publishing runs after it whatever its state and publishes only
    a certification that passed, skipping itself otherwise.

    Args:
        warehouse: Returns the warehouse's connection string when the task runs.
        slack_conn_id: Slack incoming-webhook connection for the page.
        run_url: Builds the link to the run in the Airflow UI from (dag_id, run_id).
    """

    ui_color = "#f4d03f"

    def __init__(self, *, warehouse: Callable[[], str], slack_conn_id: str, run_url: Callable[[str, str], str],
                 **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.warehouse = warehouse
        self.slack_conn_id = slack_conn_id
        self.run_url = run_url

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        link = self.run_url(ti.dag_id, ti.run_id)
        try:
            certification = self._certify(context, Settings())
        except WarehouseUnreachable as error:
            send_slack(self.slack_conn_id, unreachable_page(ti.dag_id, ti.run_id, str(error), link))
            raise AirflowFailException(str(error)) from error
        verdict = {"certification_id": certification.certification_id, "status": certification.status,
                   "checks": {name: check.passed for name, check in certification.checks.items()}}
        if certification.status == "certified":
            self.log.info("Certification %s passed every check", certification.certification_id)
            return verdict
        if certification.status == "abandoned":
            send_slack(self.slack_conn_id, abandoned_page(certification, link))
            raise AirflowFailException(f"run abandoned: {certification.failure_summary}")
        self.log.error("Certification %s failed: %s", certification.certification_id, certification.failure_summary)
        send_slack(self.slack_conn_id, certification_page(certification, link))
        raise AirflowFailException(f"certification {certification.certification_id} failed: nothing is published "
                                   f"({certification.failure_summary})")

    def _certify(self, context: Any, settings: Settings) -> Certification:
        """Certify this run's record if it is still open; a crash inside is recorded as the failure."""
        ti = context["ti"]
        dsn = self.warehouse()
        with connect(dsn) as conn:
            certification_id = certification_of_run(conn, ti.dag_id, ti.run_id)
            if certification_id is None:
                certification_id = record_abandoned(
                    conn, ti.dag_id, ti.run_id, requested_as_of(context, settings.business_timezone),
                    "the run stopped before it opened its certification record (see the open_run task's log)")
            certification = read_certification(conn, certification_id)
        if certification.status != "running":
            return certification
        try:
            with heartbeat(dsn, LeaseHolder.of_dag_run(ti.dag_id, ti.run_id, certification_id),
                           settings.lease_heartbeat_seconds):
                with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
                    certify_run(conn, certification, settings)
        except WarehouseUnreachable:
            raise
        except Exception as error:
            self.log.exception("Certification %s could not finish", certification_id)
            with connect(dsn) as conn:
                fail_certification(conn, certification_id,
                                   f"certification could not finish: {type(error).__name__}: {error}")
        with connect(dsn) as conn:
            return read_certification(conn, certification_id)
