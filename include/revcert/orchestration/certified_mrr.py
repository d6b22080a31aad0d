"""The tasks of the certified_mrr DAG that are its own (extract, stage, observe, transform, identity,
certify, publish); the run's opening and closing are revcert.orchestration.runs. The DAG file wires them.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone

import psycopg
from airflow.sdk import Asset, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from revcert.analytics.metrics import refresh_metrics
from revcert.certification.certify import certify_run
from revcert.certification.checks import check_movement_identity, integrity_result
from revcert.certification.record import (
    Certification,
    certification_of_run,
    read_certification,
    record_check,
    update_certification,
)
from revcert.extraction.errors import ExtractionError, SourceUnavailable
from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
from revcert.extraction.salesforce_extract import extract_batch, open_batch
from revcert.methodology.errors import MethodologyError
from revcert.methodology.mart import MartBuild, build_mart
from revcert.methodology.overrides import read_overrides
from revcert.monitoring.observations import observe_batch as observe_batch_of
from revcert.monitoring.observations import observe_figures as observe_figures_of
from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import business_today
from revcert.orchestration.gate import CertificationGateOperator
from revcert.orchestration.runs import (
    Monitoring,
    announce_holds,
    log_findings,
    run_holder,
    warehouse,
    working_on_warehouse,
)
from revcert.publishing.mrr_bridge import PublishResult, publish_certified_figures
from revcert.settings import Settings
from revcert.staging.salesforce_staging import stage_batch
from revcert.warehouse.connection import connect
from revcert.warehouse.lease import confirm_lease

MRR_BRIDGE_ASSET = Asset("warehouse://viz/mrr_bridge")


@task(**dag_settings.task_args("extract"))
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


@task(**dag_settings.task_args("stage"))
def stage() -> None:
    """Merge the run's batch into staging with its audit, and move the watermarks."""
    with working_on_warehouse() as (dsn, certification):
        if certification.extraction_batch_id is None:
            raise AirflowFailException("nothing to stage: the extraction did not open a batch")
        try:
            stage_batch(dsn, certification.extraction_batch_id)
        except ExtractionError as refused:
            raise AirflowFailException(str(refused)) from refused


@task(**dag_settings.task_args("observe_batch"))
def observe_batch() -> dict[str, int]:
    """Measure the staged batch against the batches before it; stop the run here (nothing transformed or
    published) when it trips a hold, or while an earlier hold still holds the pipeline."""
    context = get_current_context()
    monitoring = Monitoring.of_run(context)
    with working_on_warehouse() as (dsn, certification):
        if certification.status != "running":  # a retry after this task held the run: it paged then
            raise AirflowFailException(f"certification {certification.certification_id} is {certification.status}: "
                                       f"{certification.failure_summary}")
        with connect(dsn) as conn:
            verdict = observe_batch_of(conn, certification, monitoring.thresholds, today=monitoring.today,
                                       release=monitoring.release, released_by=monitoring.released_by)
    announce_holds(context, [verdict], monitoring)
    return dict(Counter(f.severity for f in verdict.findings))


def whole_build_requested(conn: psycopg.Connection, full_extraction: bool) -> str | None:
    """Why a run's mart is built whole whatever changed: the run re-extracted everything, or the mart holds a
    build no certification passed (a failed one, or one made outside a run): no row of it is carried into
    another build."""
    if full_extraction:
        return "the run re-extracted every object (full_extraction)"
    last = conn.execute("select build.certification_id, run.status from mart.mart_build as build "
                        "left join certification.certification_run as run using (certification_id)").fetchone()
    if last is not None and last[0] is None:
        return "the mart's last build was made outside a certified run"
    if last is not None and last[1] != "certified":
        return f"the mart's last build (certification {last[0]}) is {last[1]}, not certified"
    return None


def record_mart_build(conn: psycopg.Connection, certification_id: int, build: MartBuild) -> None:
    """What the run's mart build used and did, on its certification record."""
    update_certification(conn, certification_id, row_counts=build.row_counts,
                         overrides_used=[vars(o) for o in build.overrides_used],
                         mart_whole_because=build.whole_because, mart_customers_recomputed=build.customers_recomputed,
                         mart_customers=build.customers, mart_rebuilt_month=build.rebuilt_month)


@task(**dag_settings.task_args("transform"))
def transform() -> dict[str, int]:
    """Build the mart as of the run's as-of date (incrementally, unless it must be whole); a record the rules
    cannot handle fails the run, named."""
    settings = Settings()
    full_extraction = bool((get_current_context().get("params") or {}).get("full_extraction"))
    with working_on_warehouse() as (dsn, certification):
        overrides = read_overrides(settings.overrides_file)
        with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
            try:
                build = build_mart(conn, certification.as_of_date, overrides, settings,
                                   certification.certification_id,
                                   whole_because=whole_build_requested(conn, full_extraction))
            except MethodologyError as error:
                conn.rollback()
                record_check(conn, certification.certification_id, integrity_result(error.failures))
                conn.commit()
                raise AirflowFailException(str(error)) from error
            record_mart_build(conn, certification.certification_id, build)
    return build.row_counts


@task(**dag_settings.task_args("identity_check"))
def identity_check() -> bool:
    """Check the movement identity from the stored tables and record it (the gate decides)."""
    settings = Settings()
    with working_on_warehouse() as (dsn, certification):
        with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
            result = check_movement_identity(conn)
            record_check(conn, certification.certification_id, result)
    return bool(result.passed)


@task(**dag_settings.task_args("observe_figures"))
def observe_figures() -> dict[str, int]:
    """Measure the built figures (each business unit's ending MRR against what is published) against earlier
    runs' and record warnings; never stops the run."""
    context = get_current_context()
    monitoring = Monitoring.of_run(context)
    with working_on_warehouse() as (dsn, certification):
        with connect(dsn) as conn:
            findings = observe_figures_of(conn, certification, monitoring.thresholds, today=monitoring.today)
    log_findings("", findings)
    return dict(Counter(f.severity for f in findings))


def certify() -> CertificationGateOperator:
    return CertificationGateOperator(
        task_id="certify", warehouse=warehouse, certify=lambda conn, record: certify_run(conn, record, Settings()),
        slack_conn_id=Settings().slack_conn_id, run_url=dag_settings.run_url,
        **dag_settings.task_args("certify"))


def publish_certification(conn: psycopg.Connection, certification: Certification,
                          latest_publishable: date) -> PublishResult:
    """In the caller's transaction: the certified figures into viz, the metrics computed again from them, and
    the record marked published with the months it replaced and withdrew."""
    result = publish_certified_figures(conn, certification.certification_id, certification.figures_hash,
                                       latest_publishable=latest_publishable, restate=certification.is_restatement,
                                       after_writes=refresh_metrics)
    now = datetime.now(timezone.utc)
    update_certification(conn, certification.certification_id, published_at=now, closed_at=now,
                         published_months=result.months_replaced, withdrawn_months=result.months_withdrawn)
    return result


@task(trigger_rule="all_done", outlets=[MRR_BRIDGE_ASSET], **dag_settings.task_args("publish"))
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
            holder = run_holder(context, certification.certification_id)
            confirm_lease(conn, holder, until_commit=False)
            result = publish_certification(conn, certification, business_today(settings.business_timezone))
            # Held until commit only now: publishing fingerprints the mart beside its writes, which needs a
            # transaction that has not locked a row yet. Nothing commits unless this run still holds the lease.
            confirm_lease(conn, holder)
    return len(result.months_replaced)
