"""What every pipeline's run does the same way: the warehouse, its lease, opening and closing the run.

Tasks pass nothing to each other: each finds its run's certification record in
the warehouse by (DAG id, run id, scope), and everything else lives in that
record, so a task can be retried or read later on its own. Every task that
works on the warehouse first confirms its run still holds its pipeline's lease,
and keeps a heartbeat while it works.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from revcert.certification.record import (
    Certification,
    certification_of_run,
    close_abandoned_runs,
    open_certification,
    read_certification,
    record_abandoned,
    scoped_certifications,
    update_certification,
)
from revcert.monitoring.observations import BatchVerdict, Finding, run_findings, run_releases
from revcert.monitoring.thresholds import Thresholds, read_thresholds
from revcert.notifications.slack import (
    backfill_summary,
    certified_notice,
    hold_page,
    monitoring_lines,
    send_slack,
    unpublished_page,
)
from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import FutureAsOfDate, business_today, requested_as_of, run_as_of
from revcert.orchestration.backfills import close_backfill_run
from revcert.settings import Settings
from revcert.warehouse import migrate as warehouse_migrations
from revcert.warehouse.connection import connect, dsn_from_airflow
from revcert.warehouse.lease import LeaseHolder, LeaseUnavailable, acquire_lease, heartbeat, release_lease

log = logging.getLogger(__name__)


def warehouse() -> str:
    """The warehouse's connection string, from the Airflow connection (read when a task runs)."""
    return dsn_from_airflow(Settings().warehouse_conn_id)


def run_holder(context: dict[str, Any], certification_id: int | None = None) -> LeaseHolder:
    dag_run = context["dag_run"]
    return LeaseHolder.of_dag_run(dag_run.dag_id, dag_run.run_id, certification_id)


def dag_run_alive(holder: LeaseHolder) -> bool | None:
    """Whether Airflow says the holder's DAG run is still going (None when it cannot tell)."""
    if holder.dag_id is None or holder.run_id is None:
        return None
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        state = RuntimeTaskInstance.get_dagrun_state(holder.dag_id, holder.run_id)
    except Exception:  # unknown to this Airflow (another deployment, a purged run): nothing can tell
        return None
    # A worker gets the Task SDK's DagRunState, a str enum whose str() is "DagRunState.RUNNING": compare it
    # as it is, never through str().
    return state in ("queued", "running")


@contextmanager
def working_on_warehouse(scope: str = "") -> Iterator[tuple[str, Certification]]:
    """This run's warehouse and certification record (or a shop's: `scope`), with the run's lease confirmed and
    a heartbeat kept while the block works."""
    context = get_current_context()
    settings = Settings()
    dsn = warehouse()
    dag_run = context["dag_run"]
    with connect(dsn) as conn:
        run_record = certification_of_run(conn, dag_run.dag_id, dag_run.run_id)
        if run_record is None:
            raise AirflowFailException("this run has no certification record: open_run did not finish")
        certification_id = certification_of_run(conn, dag_run.dag_id, dag_run.run_id, scope) if scope \
            else run_record
        if certification_id is None:
            raise AirflowFailException(f"this run has no certification record for {scope}")
        certification = read_certification(conn, certification_id)
    with heartbeat(dsn, run_holder(context, run_record), settings.lease_heartbeat_seconds):
        yield dsn, certification


@dataclass(frozen=True)
class Monitoring:
    """What a run's observation tasks need: the thresholds, the day resolutions are judged on, and the holds its
    `release_hold` param releases (with who released them)."""

    thresholds: dict[str, Thresholds]
    today: date
    release: list[int]
    released_by: str

    @classmethod
    def of_run(cls, context: dict[str, Any]) -> Monitoring:
        settings = Settings()
        dag_run = context["dag_run"]
        release = [int(incident_id) for incident_id in (context.get("params") or {}).get("release_hold") or []]
        return cls(read_thresholds(settings.monitoring_thresholds_file), business_today(settings.business_timezone),
                   release, getattr(dag_run, "triggering_user_name", None) or f"run {dag_run.run_id}")


def monitoring_report(dsn: str, dag_id: str, run_id: str) -> list[str]:
    """What monitoring found in a run and the holds it released, as lines of the run's one message.

    A message goes out without them when they cannot be read: a page or a notice without them beats none.
    """
    try:
        with connect(dsn) as conn:
            return monitoring_lines(run_findings(conn, dag_id, run_id), run_releases(conn, dag_id, run_id))
    except Exception:
        log.exception("Monitoring's findings could not be read; the run's message goes out without them")
        return []


def log_findings(scope: str, findings: Sequence[Finding]) -> None:
    """Every unusual measure in the task's log, with the incident it went to or what suppressed it."""
    for finding in findings:
        if finding.is_anomaly:
            log.warning("%s%s (incident %s): %s%s", f"shop {scope}: " if scope else "", finding.severity,
                        finding.incident_id, finding.summary,
                        f"; {finding.suppression_note}" if finding.suppression_note else "")


def announce_holds(context: dict[str, Any], verdicts: Sequence[BatchVerdict], monitoring: Monitoring) -> None:
    """Say what held the run, once, and fail the observing task when anything is held.

    A hold the run's own batches tripped pages; a run held only by an earlier hold gets a reminder instead
    (that hold paged when it tripped). A run of a backfill says nothing of its own: the backfill's summary
    names it. Ids `release_hold` named that held nothing here are said too (a typo leaves the hold in place).
    """
    dag_run = context["dag_run"]
    for verdict in verdicts:
        log_findings(verdict.certification.scope, verdict.findings)
        for incident in verdict.released:
            log.info("Released incident %s (%s) for %s", incident.incident_id, incident.what,
                     monitoring.released_by)
    released = {i.incident_id for v in verdicts for i in v.released}
    unmatched = [i for i in monitoring.release if i not in released]
    if unmatched:
        log.warning("release_hold named incident(s) %s, which held nothing this run observed", unmatched)
    held = [v for v in verdicts if v.held]
    if not held:
        return
    with connect(warehouse()) as conn:
        records = [read_certification(conn, v.certification.certification_id) for v in held]
    if dag_run.run_type != "backfill":
        findings = {v.certification.certification_id: [f.as_message(v.certification.scope) for f in v.findings
                                                        if f.is_anomaly] for v in held}
        send_slack(Settings().slack_conn_id, hold_page(records, findings,
                                                       dag_settings.run_url(dag_run.dag_id, dag_run.run_id),
                                                       tripped=any(v.pages for v in held)))
    raise AirflowFailException("\n".join(f"{'shop ' + r.scope + ': ' if r.scope else ''}{r.failure_summary}"
                                         for r in records))


@task(**dag_settings.task_args("migrate"))
def migrate() -> None:
    """Apply the warehouse migrations (idempotent; a second migrator waits its turn)."""
    warehouse_migrations.upgrade(warehouse())


@task(**dag_settings.task_args("open_run"))
def open_run() -> int:
    """Take the warehouse lease, open this run's certification record, and close what gone runs left open."""
    context = get_current_context()
    settings = Settings()
    dsn = warehouse()
    dag_run = context["dag_run"]
    params = context.get("params") or {}
    try:
        as_of = run_as_of(context, settings.business_timezone)
    except FutureAsOfDate as refused:
        with connect(dsn) as conn:
            record_abandoned(conn, dag_run.dag_id, dag_run.run_id,
                             requested_as_of(context, settings.business_timezone), f"refused: {refused}")
        raise AirflowFailException(str(refused)) from refused
    holder = run_holder(context)
    try:
        taken_from = acquire_lease(dsn, holder, is_alive=dag_run_alive, wait_seconds=settings.lease_wait_seconds,
                                   stale_seconds=settings.lease_stale_seconds,
                                   orphan_seconds=settings.lease_orphan_seconds)
    except LeaseUnavailable as waited:
        with connect(dsn) as conn:
            record_abandoned(conn, dag_run.dag_id, dag_run.run_id, as_of, f"gave up waiting: {waited}")
        raise AirflowFailException(str(waited)) from waited
    with connect(dsn) as conn:
        certification_id = open_certification(conn, dag_run.dag_id, dag_run.run_id, as_of,
                                              certify_only=bool(params.get("certify_only")),
                                              restatement=bool(params.get("restate")))
        reason = (f"its run no longer held the warehouse when {holder.name} took it"
                  + (f" over from {taken_from}" if taken_from else ""))
        closed = close_abandoned_runs(conn, dag_run.dag_id, dag_run.run_id, reason,
                                      source=dag_settings.SOURCE_OF[dag_run.dag_id])
    acquire_lease(dsn, replace(holder, certification_id=certification_id))
    for kind, number in closed:
        log.warning("Closed %s %s as abandoned: %s", kind, number, reason)
    return certification_id


@task(trigger_rule="all_done", **dag_settings.task_args("close_run"))
def close_run() -> None:
    """Give the warehouse back; announce certified figures, or fail the run when they were not published.

    A run of a backfill announces nothing of its own: the backfill's last run to close posts one summary of
    them all (revcert.orchestration.backfills).
    """
    context = get_current_context()
    settings = Settings()
    dsn = warehouse()
    dag_run = context["dag_run"]
    release_lease(dsn, run_holder(context))
    with connect(dsn) as conn:
        certification_id = certification_of_run(conn, dag_run.dag_id, dag_run.run_id)
        certification = read_certification(conn, certification_id) if certification_id else None
        if certification and certification.status == "certified" and certification.is_certify_only:
            update_certification(conn, certification_id, closed_at=datetime.now(timezone.utc))
        shops = [read_certification(conn, c) for c in scoped_certifications(conn, dag_run.dag_id,
                                                                            dag_run.run_id).values()]
    link = dag_settings.run_url(dag_run.dag_id, dag_run.run_id)
    certified = certification is not None and certification.status == "certified"
    published = certified and (certification.is_certify_only or certification.published_at is not None)
    message = certified_notice(certification, link, shops, monitoring_report(dsn, dag_run.dag_id, dag_run.run_id)) \
        if published else None
    if certified and not published:
        # Certified, yet publish did not finish: the gate did not page for this, so this is the one page.
        why = "publishing failed (see the publish task's log)"
        with connect(dsn) as conn:
            update_certification(conn, certification_id, closed_at=datetime.now(timezone.utc),
                                 failure_summary=f"certified, not published: {why}")
        message = unpublished_page(certification, link, why)
    if dag_run.run_type == "backfill":
        summarize_backfill_if_last(dsn, dag_run.dag_id, dag_run.run_id)
    elif message:
        send_slack(settings.slack_conn_id, message)
    if certification is None:
        raise AirflowFailException("the run never opened a certification record (see the open_run task)")
    if not published:
        raise AirflowFailException(f"certification {certification_id} is {certification.status}, not published: "
                                   f"see the page and {link}")


def summarize_backfill_if_last(dsn: str, dag_id: str, run_id: str) -> None:
    """Post the backfill's summary when this is its last run to close (every run with a record is in it)."""
    backfill = close_backfill_run(dsn, dag_id, run_id)
    if backfill is None:
        log.info("Other runs of this backfill are still to close: the last of them posts its summary")
        return
    with connect(dsn) as conn:
        records = [certification_of_run(conn, dag_id, r) for r in backfill]
        runs = [read_certification(conn, c) for c in records if c is not None]
    if runs:
        send_slack(Settings().slack_conn_id, backfill_summary(dag_id, runs, dag_settings.run_url))
