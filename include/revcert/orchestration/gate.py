"""The certification gate: the operator between a run's figures and publishing, for every pipeline."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from revcert.certification.record import (
    Certification,
    certification_of_run,
    fail_certification,
    read_certification,
    record_abandoned,
    scoped_certifications,
    update_certification,
)
from revcert.monitoring.ledger import held_certifications, record_certification_failures
from revcert.notifications.accounts import Account, accounts_of_records, salesforce_instance_url
from revcert.notifications.slack import (
    abandoned_page,
    certification_page,
    named_record_ids,
    send_slack,
    unreachable_page,
)
from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import business_today, requested_as_of
from revcert.orchestration.runs import monitoring_report
from revcert.settings import Settings
from revcert.warehouse.connection import WarehouseUnreachable, connect
from revcert.warehouse.lease import LeaseHolder, heartbeat

Certify = Callable[[psycopg.Connection, Certification], object]


class CertificationGateOperator(BaseOperator):
    """Run the checks of METHODOLOGY.md Part C on this run's figures, and stop the run if any fails.

    It runs whatever happened upstream (trigger rule `all_done`), so a run that
    failed earlier is still recorded and paged: this gate is the one place a
    failed run pages on-call, once. On any failure it writes the certification
    record, pages Slack with what failed, and ends failed (red, where the
    problem is). Publishing runs after it whatever its state and publishes only
    what passed, skipping itself otherwise. A run of a backfill does not page:
    the backfill's one summary names it when the backfill ends (close_run).
    Every failed check opens or updates an incident in the ledger. A record
    monitoring held before transform is not paged again: its hold paged.

    A run is certified as one record (the MRR pipeline) or as one record per
    shop (`per_scope`: the shop revenue pipeline), where each shop passes or
    fails on its own and the run's own record says which did.

    Args:
        warehouse: Returns the warehouse's connection string when the task runs.
        certify: Runs and records the checks of one open record.
        slack_conn_id: Slack incoming-webhook connection for the page.
        run_url: Builds the link to the run in the Airflow UI from (dag_id, run_id).
        per_scope: Certify every scope (shop) record of the run instead of the run's own.
    """

    ui_color = "#f4d03f"

    def __init__(self, *, warehouse: Callable[[], str], certify: Certify, slack_conn_id: str,
                 run_url: Callable[[str, str], str], per_scope: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.warehouse = warehouse
        self.certify = certify
        self.slack_conn_id = slack_conn_id
        self.run_url = run_url
        self.per_scope = per_scope

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        link = self.run_url(ti.dag_id, ti.run_id)
        try:
            certifications = self._certify_all(context, Settings())
        except WarehouseUnreachable as error:
            send_slack(self.slack_conn_id, unreachable_page(ti.dag_id, ti.run_id, str(error), link))
            raise AirflowFailException(str(error)) from error
        verdict = {c.scope or "run": c.status for c in certifications}
        failed = [c for c in certifications if c.status != "certified"]
        if not failed:
            self.log.info("Every certification passed: %s", verdict)
            return verdict
        unheld = self._record_incidents(failed)
        abandoned = [c for c in unheld if c.status == "abandoned" and not c.scope]
        if context["dag_run"].run_type == "backfill":
            self.log.info("A run of a backfill: its failure goes into the backfill's summary, not a page of its own")
        elif not unheld:
            self.log.info("Monitoring held this run before transform; its hold paged (see observe_batch's log)")
        elif abandoned:
            send_slack(self.slack_conn_id, abandoned_page(abandoned[0], link))
        else:
            send_slack(self.slack_conn_id, certification_page(
                unheld, link, *self._named_accounts(ti.dag_id, unheld),
                monitoring=monitoring_report(self.warehouse(), ti.dag_id, ti.run_id)))
        self.log.error("Not certified: %s", "; ".join(f"{c.scope or 'run'}: {c.failure_summary}" for c in failed))
        raise AirflowFailException(f"{len(failed)} certification(s) failed: nothing of theirs is published")

    def _record_incidents(self, failed: list[Certification]) -> list[Certification]:
        """Open or update an incident per failed check; returns the failed records monitoring did not hold.

        The page goes out even when the ledger cannot be written: a page without incidents beats none.
        """
        try:
            with connect(self.warehouse()) as conn:
                held = held_certifications(conn, [c.certification_id for c in failed])
                for certification in failed:
                    record_certification_failures(conn, certification, business_today(Settings().business_timezone))
        except Exception:
            self.log.exception("The incident ledger could not be written; paging every failed record")
            held = set()
        return [c for c in failed if c.certification_id not in held]

    def _named_accounts(self, dag_id: str, failed: list[Certification]) -> tuple[dict[str, Account], str | None]:
        """The Salesforce account behind each record the page names, and the org's URL for links to them.

        The page goes out without them when they cannot be read: a page with bare record ids beats none.
        """
        if dag_settings.SOURCE_OF.get(dag_id) != "salesforce":
            return {}, None
        try:
            with connect(self.warehouse()) as conn:
                accounts = accounts_of_records(conn, named_record_ids(failed))
        except Exception:
            self.log.exception("The accounts behind the failed records could not be read; paging without them")
            accounts = {}
        return accounts, salesforce_instance_url(Settings().salesforce_conn_id)

    def _run_record(self, conn: psycopg.Connection, context: Any) -> int:
        ti = context["ti"]
        certification_id = certification_of_run(conn, ti.dag_id, ti.run_id)
        if certification_id is None:
            certification_id = record_abandoned(
                conn, ti.dag_id, ti.run_id, requested_as_of(context, Settings().business_timezone),
                "the run stopped before it opened its certification record (see the open_run task's log)")
        return certification_id

    def _certify_all(self, context: Any, settings: Settings) -> list[Certification]:
        """Certify each open record of the run; a crash inside one is recorded as its failure."""
        ti = context["ti"]
        dsn = self.warehouse()
        with connect(dsn) as conn:
            run_record = self._run_record(conn, context)
            targets = list(scoped_certifications(conn, ti.dag_id, ti.run_id).values()) if self.per_scope \
                else [run_record]
        holder = LeaseHolder.of_dag_run(ti.dag_id, ti.run_id, run_record)
        with heartbeat(dsn, holder, settings.lease_heartbeat_seconds):
            for certification_id in targets:
                self._certify_one(dsn, certification_id, settings)
        with connect(dsn) as conn:
            certifications = [read_certification(conn, c) for c in targets]
            if self.per_scope:
                self._conclude_run(conn, run_record, certifications)
                if not targets:
                    certifications.append(read_certification(conn, run_record))
        return certifications

    def _certify_one(self, dsn: str, certification_id: int, settings: Settings) -> None:
        with connect(dsn) as conn:
            certification = read_certification(conn, certification_id)
        if certification.status != "running":
            return
        try:
            with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
                self.certify(conn, certification)
        except WarehouseUnreachable:
            raise
        except Exception as error:
            self.log.exception("Certification %s could not finish", certification_id)
            with connect(dsn) as conn:
                fail_certification(conn, certification_id,
                                   f"certification could not finish: {type(error).__name__}: {error}")

    @staticmethod
    def _conclude_run(conn: psycopg.Connection, run_record: int, shops: list[Certification]) -> None:
        """The run's own record says whether every shop certified, and which did not."""
        failed = [c for c in shops if c.status != "certified"]
        if not shops:
            why, earlier = "no shop was extracted by this run", read_certification(conn, run_record).failure_summary
            fail_certification(conn, run_record, f"{why}: {earlier}" if earlier else why)
        elif failed:
            fail_certification(conn, run_record, "; ".join(f"shop {c.scope}: {c.failure_summary}" for c in failed))
        else:
            update_certification(conn, run_record, status="certified",
                                 certified_at=max(c.certified_at for c in shops))
