"""The tasks of the certified_mrr DAG. The DAG file wires them; the work is here.

Tasks pass nothing to each other: each finds its run's certification record in
the warehouse by (DAG id, run id), and everything else (as-of date, batch,
overrides used, results) lives in that record, so a task can be retried or
read later on its own. Every task that works on the warehouse first confirms
its run still holds the warehouse lease, and keeps a heartbeat while it works.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import Asset, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from revcert.certification.checks import check_movement_identity, integrity_result
from revcert.certification.record import (
    Certification,
    certification_of_run,
    close_abandoned_runs,
    open_certification,
    read_certification,
    record_abandoned,
    record_check,
    update_certification,
)
from revcert.extraction.errors import ExtractionError, SourceUnavailable
from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
from revcert.extraction.salesforce_extract import extract_batch, open_batch
from revcert.methodology.errors import MethodologyError
from revcert.methodology.mart import build_mart
from revcert.methodology.overrides import read_overrides
from revcert.notifications.slack import certified_notice, send_slack, unpublished_page
from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import FutureAsOfDate, business_today, requested_as_of, run_as_of
from revcert.orchestration.gate import CertificationGateOperator
from revcert.publishing.mrr_bridge import publish_certified_figures
from revcert.settings import Settings
from revcert.staging.salesforce_staging import stage_batch
from revcert.warehouse import migrate as warehouse_migrations
from revcert.warehouse.connection import connect, dsn_from_airflow
from revcert.warehouse.lease import (
    LeaseHolder,
    LeaseUnavailable,
    acquire_lease,
    confirm_lease,
    heartbeat,
    release_lease,
)

MRR_BRIDGE_ASSET = Asset("warehouse://viz/mrr_bridge")


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
    return str(state) in ("queued", "running")


@contextmanager
def working_on_warehouse() -> Iterator[tuple[str, Certification]]:
    """This run's warehouse and certification record, with its lease confirmed and a heartbeat kept."""
    context = get_current_context()
    settings = Settings()
    dsn = warehouse()
    with connect(dsn) as conn:
        certification_id = certification_of_run(conn, context["dag_run"].dag_id, context["dag_run"].run_id)
        if certification_id is None:
            raise AirflowFailException("this run has no certification record: open_run did not finish")
        certification = read_certification(conn, certification_id)
    with heartbeat(dsn, run_holder(context, certification_id), settings.lease_heartbeat_seconds):
        yield dsn, certification


@task(**dag_settings.retries("migrate"))
def migrate() -> None:
    """Apply the warehouse migrations (idempotent; a second migrator waits its turn)."""
    warehouse_migrations.upgrade(warehouse())


@task(**dag_settings.retries("open_run"))
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
        closed = close_abandoned_runs(conn, reason, own_certification_id=certification_id)
    acquire_lease(dsn, replace(holder, certification_id=certification_id))
    for kind, number in closed:
        print(f"Closed {kind} {number} as abandoned: {reason}")
    return certification_id


@task(**dag_settings.retries("extract"))
def extract() -> None:
    """Read Salesforce into raw (incremental unless the run asks for a full re-extraction)."""
    context = get_current_context()
    settings = Settings()
    full = bool((context.get("params") or {}).get("full_extraction"))
    with working_on_warehouse() as (dsn, certification):
        batch = open_batch(dsn, full=full)
        with connect(dsn) as conn:
            update_certification(conn, certification.certification_id, extraction_batch_id=batch.batch_id)
        try:
            client = SalesforceClient(SalesforceCredentials.from_airflow_connection(settings.salesforce_conn_id),
                                      settings)
            extract_batch(dsn, batch, client, settings)
        except SourceUnavailable:
            raise
        except ExtractionError as refused:
            raise AirflowFailException(str(refused)) from refused


@task(**dag_settings.retries("stage"))
def stage() -> None:
    """Merge the run's batch into staging with its audit, and move the watermarks."""
    with working_on_warehouse() as (dsn, certification):
        if certification.extraction_batch_id is None:
            raise AirflowFailException("nothing to stage: the extraction did not open a batch")
        try:
            stage_batch(dsn, certification.extraction_batch_id)
        except ExtractionError as refused:
            raise AirflowFailException(str(refused)) from refused


@task(**dag_settings.retries("transform"))
def transform() -> dict[str, int]:
    """Build the mart as of the run's as-of date; a record the rules cannot handle fails the run, named."""
    settings = Settings()
    with working_on_warehouse() as (dsn, certification):
        overrides = read_overrides(settings.overrides_file)
        with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
            try:
                build = build_mart(conn, certification.as_of_date, overrides, settings,
                                   certification.certification_id)
            except MethodologyError as error:
                conn.rollback()
                record_check(conn, certification.certification_id, integrity_result(error.failures))
                conn.commit()
                raise AirflowFailException(str(error)) from error
            update_certification(conn, certification.certification_id, row_counts=build.row_counts,
                                 overrides_used=[vars(o) for o in build.overrides_used])
    return build.row_counts


@task(**dag_settings.retries("identity_check"))
def identity_check() -> bool:
    """Check the movement identity from the stored tables and record it (the gate decides)."""
    settings = Settings()
    with working_on_warehouse() as (dsn, certification):
        with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
            result = check_movement_identity(conn)
            record_check(conn, certification.certification_id, result)
    return bool(result.passed)


def certify() -> CertificationGateOperator:
    return CertificationGateOperator(task_id="certify", warehouse=warehouse, slack_conn_id=Settings().slack_conn_id,
                                     run_url=dag_settings.run_url, retries=dag_settings.retries("certify")["retries"])


@task(trigger_rule="all_done", outlets=[MRR_BRIDGE_ASSET], **dag_settings.retries("publish"))
def publish() -> int:
    """Publish the certified figures into viz in one transaction; emits the viz asset after the commit.

    It runs whatever the gate's state and publishes only a certification that
    passed: otherwise it skips itself, and the published figures stay as they were.
    """
    context = get_current_context()
    settings = Settings()
    dsn = warehouse()
    with connect(dsn) as conn:
        certification_id = certification_of_run(conn, context["dag_run"].dag_id, context["dag_run"].run_id)
        certification = read_certification(conn, certification_id) if certification_id else None
    if certification is None or certification.status != "certified":
        raise AirflowSkipException("not certified: nothing published, the figures shown are unchanged")
    if certification.is_certify_only:
        raise AirflowSkipException("certify-only run: the certified figures are recorded, not published")
    with working_on_warehouse() as (dsn, certification):
        with connect(dsn) as conn:
            confirm_lease(conn, run_holder(context, certification.certification_id))
            result = publish_certified_figures(
                conn, certification.certification_id, certification.figures_hash,
                latest_publishable=business_today(settings.business_timezone),
                restate=certification.is_restatement)
            now = datetime.now(timezone.utc)
            update_certification(conn, certification.certification_id, published_at=now, closed_at=now,
                                 published_months=result.months_replaced, withdrawn_months=result.months_withdrawn)
    return len(result.months_replaced)


@task(trigger_rule="all_done", **dag_settings.retries("close_run"))
def close_run() -> None:
    """Give the warehouse back; announce certified figures, or fail the run when they were not published."""
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
    link = dag_settings.run_url(dag_run.dag_id, dag_run.run_id)
    if certification is None:
        raise AirflowFailException("the run never opened a certification record (see the open_run task)")
    if certification.status == "certified" and (certification.is_certify_only or certification.published_at):
        send_slack(settings.slack_conn_id, certified_notice(certification, link))
        return
    if certification.status == "certified":
        # Certified, yet publish did not finish: the gate did not page for this, so this is the one page.
        why = "publishing failed (see the publish task's log)"
        send_slack(settings.slack_conn_id, unpublished_page(certification, link, why))
        with connect(dsn) as conn:
            update_certification(conn, certification_id, closed_at=datetime.now(timezone.utc),
                                 failure_summary=f"certified, not published: {why}")
    raise AirflowFailException(f"certification {certification_id} is {certification.status}, not published: "
                               f"see the page and {link}")
