"""The tasks of the shop_daily_revenue DAG that are its own; the DAG file wires them.

Every shop goes its own way through the run: it is extracted and staged in a
mapped task of its own (a source down or a bad order fails that shop only),
observed, built, certified and published in its own transaction with a
certification record of its own (scope = the shop's id). A shop that fails,
or that monitoring holds, keeps the figures published before; the others
publish.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone

from airflow.sdk import Asset, get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from revcert.certification.certify import certify_shop
from revcert.certification.checks import integrity_result
from revcert.certification.record import (
    Certification,
    certification_of_run,
    open_certification,
    read_certification,
    record_check,
    scoped_certifications,
    update_certification,
)
from revcert.extraction.errors import ExtractionError, SourceUnavailable
from revcert.extraction.shopify_client import ShopifyClient, legacy_id, shops_from_airflow_connection
from revcert.extraction.shopify_extract import extract_shop, open_shop_batch
from revcert.methodology.errors import MethodologyError
from revcert.methodology.shop_mart import build_shop_mart, shop_as_of
from revcert.methodology.shop_settings import load_shop_settings, read_shop_settings
from revcert.monitoring.ledger import absorb_reconciliations
from revcert.monitoring.observations import observe_batch as observe_batch_of
from revcert.monitoring.observations import observe_figures as observe_figures_of
from revcert.orchestration import dag_settings
from revcert.orchestration.gate import CertificationGateOperator
from revcert.orchestration.runs import (
    Monitoring,
    announce_holds,
    log_findings,
    run_holder,
    warehouse,
    working_on_warehouse,
)
from revcert.publishing.shop_daily_revenue import publish_shop
from revcert.settings import Settings
from revcert.staging.shopify_staging import stage_shop_batch
from revcert.warehouse.connection import connect
from revcert.warehouse.lease import confirm_lease

SHOP_DAILY_REVENUE_ASSET = Asset("warehouse://viz/shop_daily_revenue")


def _days_param(params: dict) -> tuple[date, date] | None:
    """The `from` / `to` params: a range of local days to recompute (both or neither)."""
    first, last = params.get("from"), params.get("to")
    if not first and not last:
        return None
    if not first or not last or first > last:
        raise AirflowFailException(f"a range needs `from` <= `to`, got from={first!r} to={last!r}")
    return date.fromisoformat(first), date.fromisoformat(last)


@task(**dag_settings.task_args("select_shops"))
def select_shops() -> list[str]:
    """The shops this run reads: the `shops` param, else every shop the Shopify connection lists."""
    params = get_current_context().get("params") or {}
    listed = [access.shop_gid for access in shops_from_airflow_connection(Settings().shopify_conn_id)]
    wanted = [str(shop) for shop in params.get("shops") or []]
    unknown = sorted(set(wanted) - {legacy_id(gid) for gid in listed})
    if unknown:
        refused = f"shops not in the Shopify connection: {', '.join(unknown)}"
        dag_run = get_current_context()["dag_run"]
        with connect(warehouse()) as conn:  # so the gate's page says why no shop ran
            run_record = certification_of_run(conn, dag_run.dag_id, dag_run.run_id)
            update_certification(conn, run_record, failure_summary=refused)
        raise AirflowFailException(refused)
    return [gid for gid in listed if not wanted or legacy_id(gid) in wanted]


@task(**dag_settings.task_args("extract"))
def extract(shop_gid: str) -> str:
    """Read one shop and its changed orders (or a range of them) into raw, as a batch of its own."""
    context = get_current_context()
    settings = Settings()
    params = context.get("params") or {}
    shop_id = legacy_id(shop_gid)
    with working_on_warehouse() as (dsn, run):
        with connect(dsn) as conn:
            certification_id = open_certification(conn, run.dag_id, run.run_id, run.as_of_date, scope=shop_id)
        batch = open_shop_batch(dsn, shop_id, full=bool(params.get("full_extraction")),
                                order_days=_days_param(params))
        with connect(dsn) as conn:
            update_certification(conn, certification_id, extraction_batch_id=batch.batch_id)
        access = next(a for a in shops_from_airflow_connection(settings.shopify_conn_id) if a.shop_gid == shop_gid)
        try:
            with ShopifyClient(access, settings) as client:
                extract_shop(dsn, batch, client, settings)
        except SourceUnavailable:
            raise
        except ExtractionError as refused:
            raise AirflowFailException(str(refused)) from refused
    return shop_id


@task(**dag_settings.task_args("stage"))
def stage(shop_id: str) -> str:
    """Merge the shop's batch into staging with its audit, and move its watermark."""
    with working_on_warehouse(shop_id) as (dsn, certification):
        try:
            stage_shop_batch(dsn, certification.extraction_batch_id)
        except ExtractionError as refused:
            raise AirflowFailException(str(refused)) from refused
    return shop_id


@task_group(group_id="shop")
def shop_source(shop_gid: str) -> None:
    """One shop from its source to staging, apart from every other shop."""
    stage(extract(shop_gid))


def _open_shops(conn, dag_id: str, run_id: str) -> list[Certification]:
    return [read_certification(conn, c) for c in scoped_certifications(conn, dag_id, run_id).values()]


def _staged_shops(conn, dag_id: str, run_id: str) -> list[Certification]:
    """The shops of the run still running whose batch is staged (the others failed earlier, named)."""
    return [shop for shop in _open_shops(conn, dag_id, run_id) if shop.status == "running"
            and shop.extraction_batch_id is not None
            and conn.execute("select status from raw.extraction_batch where batch_id = %s",
                             [shop.extraction_batch_id]).fetchone()[0] == "staged"]


@task(trigger_rule="all_done", **dag_settings.task_args("observe_batch"))
def observe_batch() -> dict[str, dict[str, int]]:
    """Measure each staged shop's batch against that shop's batches before it; hold a shop (its days not
    recomputed or published) when its batch trips a hold, or while an earlier hold still holds it. The others
    go on. The ledger first takes in what the reconciliation found since the last run."""
    context = get_current_context()
    monitoring = Monitoring.of_run(context)
    verdicts = []
    with working_on_warehouse() as (dsn, run):
        with connect(dsn) as conn:
            absorb_reconciliations(conn, monitoring.today)
            shops = _staged_shops(conn, run.dag_id, run.run_id)
        for shop in shops:
            with connect(dsn) as conn:
                verdicts.append(observe_batch_of(conn, shop, monitoring.thresholds, today=monitoring.today,
                                                 release=monitoring.release, released_by=monitoring.released_by))
    announce_holds(context, verdicts, monitoring)
    return {v.certification.scope: dict(Counter(f.severity for f in v.findings)) for v in verdicts}


@task(trigger_rule="all_done", **dag_settings.task_args("transform"))
def transform() -> dict[str, int]:
    """Build each staged shop's mart in a transaction of its own; a shop whose records break a rule is
    recorded, named, and left out; the others go on."""
    context = get_current_context()
    params = context.get("params") or {}
    settings = Settings()
    built, refused = {}, []
    with working_on_warehouse() as (dsn, run):
        with connect(dsn) as conn:
            load_shop_settings(conn, read_shop_settings(settings.shop_settings_file))
            shops = _staged_shops(conn, run.dag_id, run.run_id)
        for shop in shops:
            with connect(dsn, statement_timeout_seconds=settings.statement_timeout_seconds) as conn:
                zone = conn.execute("select iana_timezone from staging.stg_shop where shop_id = %s",
                                    [shop.scope]).fetchone()
                as_of = shop_as_of(shop.as_of_date, zone[0] if zone else None, datetime.now(timezone.utc))
                if as_of != shop.as_of_date:  # the record says the last day the shop's figures cover
                    update_certification(conn, shop.certification_id, as_of_date=as_of)
                try:
                    build = build_shop_mart(conn, shop.scope, as_of, shop.certification_id,
                                            whole=bool(params.get("full_extraction")), days=_days_param(params))
                except MethodologyError as error:
                    conn.rollback()
                    record_check(conn, shop.certification_id, integrity_result(error.failures))
                    refused.append(f"shop {shop.scope}: {error}")
                    continue
                built[shop.scope] = len(build.days_in_scope)
    if refused:
        raise AirflowFailException("the methodology refused some shops (the others were built):\n"
                                   + "\n".join(refused))
    return built


@task(trigger_rule="all_done", **dag_settings.task_args("observe_figures"))
def observe_figures() -> dict[str, dict[str, int]]:
    """Measure each built shop's complete days in scope (orders, and net revenue against its published same
    weekday) against the same weekday before them, and record warnings; never stops a shop."""
    context = get_current_context()
    monitoring = Monitoring.of_run(context)
    observed = {}
    with working_on_warehouse() as (dsn, run):
        with connect(dsn) as conn:
            shops = [shop for shop in _open_shops(conn, run.dag_id, run.run_id) if shop.status == "running"]
        for shop in shops:
            with connect(dsn) as conn:
                findings = observe_figures_of(conn, shop, monitoring.thresholds, today=monitoring.today)
            log_findings(shop.scope, findings)
            observed[shop.scope] = dict(Counter(f.severity for f in findings))
    return observed


def certify() -> CertificationGateOperator:
    return CertificationGateOperator(task_id="certify", warehouse=warehouse, certify=certify_shop, per_scope=True,
                                     slack_conn_id=Settings().slack_conn_id, run_url=dag_settings.run_url,
                                     **dag_settings.task_args("certify"))


@task(trigger_rule="all_done", outlets=[SHOP_DAILY_REVENUE_ASSET], **dag_settings.task_args("publish"))
def publish() -> list[str]:
    """Publish each certified shop's recomputed days in a transaction of its own; emits the viz asset after."""
    context = get_current_context()
    dag_run = context["dag_run"]
    published, unpublished = [], []
    with working_on_warehouse() as (dsn, run):
        with connect(dsn) as conn:
            shops = [s for s in _open_shops(conn, dag_run.dag_id, dag_run.run_id)
                     if s.status == "certified" and s.published_at is None]
        for shop in shops:
            try:
                with connect(dsn) as conn:
                    confirm_lease(conn, run_holder(context, run.certification_id))
                    publish_shop(conn, shop.scope, shop.certification_id, shop.figures_hash)
                    now = datetime.now(timezone.utc)
                    update_certification(conn, shop.certification_id, published_at=now, closed_at=now)
                published.append(shop.scope)
            except Exception as error:  # one shop's failure never holds back the others; named in the record
                with connect(dsn) as conn:
                    update_certification(conn, shop.certification_id, closed_at=datetime.now(timezone.utc),
                                         failure_summary=f"certified, not published: {type(error).__name__}: {error}")
                unpublished.append(f"shop {shop.scope}: {error}")
        if not unpublished:
            with connect(dsn) as conn:
                # Every shop certified and published: the run's own record says the run published.
                if read_certification(conn, run.certification_id).status == "certified":
                    now = datetime.now(timezone.utc)
                    update_certification(conn, run.certification_id, published_at=now, closed_at=now)
    if not published and not unpublished:
        raise AirflowSkipException("no shop was certified: nothing published, the figures shown are unchanged")
    if unpublished:
        raise AirflowFailException("some shops were certified but not published: " + "; ".join(unpublished))
    return published
