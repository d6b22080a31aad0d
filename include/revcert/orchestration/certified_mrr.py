"""The tasks of the certified_mrr DAG. The DAG file wires them; the work is here.

Tasks pass one thing along: the run's certification id. Everything else
(as-of date, batch, overrides used, results) lives in the warehouse's
certification record, so a task can be retried or read later on its own.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from airflow.sdk import Asset, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from revcert.certification.checks import check_movement_identity, integrity_result
from revcert.certification.gate import CertificationGateOperator
from revcert.certification.record import open_certification, read_certification, record_check, update_certification
from revcert.extraction.salesforce_client import SalesforceClient
from revcert.extraction.salesforce_extract import extract_batch
from revcert.methodology.errors import MethodologyError
from revcert.methodology.mart import build_mart
from revcert.methodology.overrides import read_overrides
from revcert.notifications.slack import certified_notice, send_slack
from revcert.orchestration import dag_settings
from revcert.orchestration.connections import salesforce_credentials, warehouse_url
from revcert.publishing.mrr_bridge import publish_mrr_bridge
from revcert.settings import Settings
from revcert.staging.salesforce_staging import stage_batch
from revcert.warehouse import migrate as warehouse_migrations
from revcert.warehouse.lease import acquire_lease, release_lease, renew_lease

MRR_BRIDGE_ASSET = Asset("warehouse://viz/mrr_bridge")


def lease_holder(dag_id: str, run_id: str) -> str:
    return f"{dag_id}/{run_id}"


def as_of_date(context: dict[str, Any], timezone: str) -> date:
    """The run's as-of date: the `as_of` param when given, else its logical date (or run_after) in the business timezone."""
    requested = (context.get("params") or {}).get("as_of")
    if requested:
        return date.fromisoformat(requested)
    dag_run = context["dag_run"]
    moment: datetime = dag_run.logical_date or dag_run.run_after
    return moment.astimezone(ZoneInfo(timezone)).date()


def _holder(context: dict[str, Any]) -> str:
    return lease_holder(context["dag_run"].dag_id, context["dag_run"].run_id)


def _working(context: dict[str, Any]) -> str:
    """The warehouse URL, after confirming this run still holds the warehouse."""
    url = warehouse_url()
    renew_lease(url, _holder(context))
    return url


@task(task_id="migrate", retries=2)
def open_run() -> int:
    """Apply the warehouse migrations, open the run's certification record and take the warehouse lease."""
    context = get_current_context()
    settings = Settings()
    url = warehouse_url()
    warehouse_migrations.upgrade(url)
    dag_run = context["dag_run"]
    with psycopg.connect(url) as conn:
        certification_id = open_certification(conn, dag_run.dag_id, dag_run.run_id,
                                              as_of_date(context, settings.business_timezone))
    acquire_lease(url, _holder(context), certification_id, wait_seconds=settings.lease_wait_seconds,
                  stale_after_seconds=settings.lease_stale_seconds)
    return certification_id


@task
def extract(certification_id: int) -> int:
    """Read Salesforce into raw (incremental unless the run asks for a full re-extraction)."""
    context = get_current_context()
    url = _working(context)
    settings = Settings()
    full = bool((context.get("params") or {}).get("full_extraction"))
    batch_id = extract_batch(url, SalesforceClient(salesforce_credentials(), settings), settings, full=full)
    with psycopg.connect(url) as conn:
        update_certification(conn, certification_id, extraction_batch_id=batch_id)
    return batch_id


@task(retries=1)
def stage(certification_id: int, batch_id: int) -> int:
    """Merge the batch into staging with its audit, and move the watermarks."""
    stage_batch(_working(get_current_context()), batch_id)
    return batch_id


@task(retries=0)
def transform(certification_id: int, batch_id: int) -> dict[str, int]:
    """Build the mart as of the run's as-of date; a record the rules cannot handle fails the run, named."""
    url = _working(get_current_context())
    overrides = read_overrides()
    with psycopg.connect(url) as conn:
        as_of = read_certification(conn, certification_id).as_of_date
        try:
            build = build_mart(conn, as_of, overrides, Settings(), certification_id)
        except MethodologyError as error:
            conn.rollback()
            record_check(conn, certification_id, integrity_result(error.failures))
            conn.commit()
            raise
        update_certification(conn, certification_id, row_counts=build.row_counts,
                             overrides_used=[vars(o) for o in build.overrides_used])
    return build.row_counts


@task(retries=0)
def identity_check(certification_id: int, row_counts: dict[str, int]) -> bool:
    """Check the movement identity from the stored tables and record it (the gate decides)."""
    url = _working(get_current_context())
    with psycopg.connect(url) as conn:
        result = check_movement_identity(conn)
        record_check(conn, certification_id, result)
    return bool(result.passed)


def certify() -> CertificationGateOperator:
    return CertificationGateOperator(task_id="certify", certification_task_id="migrate", warehouse_url=warehouse_url,
                                     slack_conn_id=dag_settings.SLACK_CONN_ID, run_url=dag_settings.run_url,
                                     lease_holder=lease_holder)


@task(retries=1, retry_delay=timedelta(seconds=30), outlets=[MRR_BRIDGE_ASSET])
def publish(certification_id: int) -> int:
    """Publish the certified bridge into viz in one transaction; emits the viz asset after the commit."""
    context = get_current_context()
    if (context.get("params") or {}).get("certify_only"):
        raise AirflowSkipException("certify-only run: the certified figures are recorded, not published")
    url = _working(context)
    with psycopg.connect(url) as conn:
        certification = read_certification(conn, certification_id)
        if certification.status != "certified":
            raise RuntimeError(f"certification {certification_id} is {certification.status}: nothing published")
        result = publish_mrr_bridge(conn, certification_id, certification.figures_hash)
        update_certification(conn, certification_id, published_at=datetime.now().astimezone())
    return result.months_replaced


@task(trigger_rule="all_done", retries=0, on_failure_callback=[])
def notify(certification_id: int | None) -> None:
    """Give the warehouse back; announce certified figures, or fail the run when they were not."""
    context = get_current_context()
    url = warehouse_url()
    release_lease(url, _holder(context))
    if certification_id is None:
        raise RuntimeError("the run never opened a certification record (see the migrate task)")
    with psycopg.connect(url) as conn:
        certification = read_certification(conn, certification_id)
        months = conn.execute("select count(distinct month) from viz.mrr_bridge where certification_id = %s",
                              [certification_id]).fetchone()[0]
    link = dag_settings.run_url(certification.dag_id, certification.run_id)
    if certification.status == "certified" and (context.get("params") or {}).get("certify_only"):
        send_slack(dag_settings.SLACK_CONN_ID, certified_notice(certification, link, months=None))
        return
    if certification.status != "certified" or certification.published_at is None:
        raise RuntimeError(f"certification {certification_id} is {certification.status}, "
                           f"{'published' if certification.published_at else 'not published'}: see the page and {link}")
    send_slack(dag_settings.SLACK_CONN_ID, certified_notice(certification, link, months=months))
