"""The tasks of the shop_revenue_reconciliation DAG that are its own; the DAG file wires them.

The reconciliation reads the published figures and the live source and writes
only `monitoring`: a discrepancy is repaired by a run of shop_daily_revenue for
exactly that shop and those days, through the certified path, never by a write
to viz from here.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from decimal import Decimal

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from revcert.certification.shop_day_revenue import ShopRuleError
from revcert.extraction.errors import ExtractionError, SourceUnavailable
from revcert.extraction.shopify_client import ShopifyClient, legacy_id, shops_from_airflow_connection
from revcert.monitoring.ledger import absorb_reconciliations
from revcert.notifications.slack import send_slack
from revcert.orchestration import dag_settings
from revcert.orchestration.as_of import business_today, refuse_future
from revcert.orchestration.runs import warehouse
from revcert.reconciliation.ledger import (
    close_reconciliation,
    discrepancies_of,
    failed_shops_of,
    open_reconciliation,
    reconciled_shops,
    reconciliation_of_run,
    reconciliation_summary,
    record_shop_failure,
    recorded_shops,
    request_repairs,
)
from revcert.reconciliation.shop_comparison import discrepancy_alert, sample_shops
from revcert.reconciliation.source import reconcile_and_record
from revcert.settings import Settings
from revcert.warehouse.connection import connect

REVENUE_DAG_ID = "shop_daily_revenue"


def run_seed(dag_id: str, run_id: str) -> int:
    """A run's own seed when none is given: stable for the run (a retry draws the same sample)."""
    return int.from_bytes(hashlib.sha256(f"{dag_id}/{run_id}".encode()).digest()[:4], "big")


def _reconciliation(context):
    dag_run = context["dag_run"]
    with connect(warehouse()) as conn:
        found = reconciliation_of_run(conn, dag_run.dag_id, dag_run.run_id)
    if found is None:
        raise AirflowFailException("this run has no reconciliation: open_reconciliation did not finish")
    return found


@task(**dag_settings.task_args("open_reconciliation_run"))
def open_reconciliation_run() -> list[str]:
    """Draw the run's sample of published shops (seeded, the seed recorded); returns their shop gids."""
    context = get_current_context()
    params = context.get("params") or {}
    settings = Settings()
    dag_run = context["dag_run"]
    as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else None
    if as_of:
        refuse_future(as_of, settings.business_timezone)
    fraction = Decimal(str(params.get("fraction") or "0.05"))
    seed = params.get("seed")
    seed = run_seed(dag_run.dag_id, dag_run.run_id) if seed is None else int(seed)
    listed = {legacy_id(access.shop_gid): access.shop_gid
              for access in shops_from_airflow_connection(settings.shopify_conn_id)}
    with connect(warehouse()) as conn:
        active = [shop for shop in reconciled_shops(conn) if shop in listed]
        if not active:
            raise AirflowFailException("no shop of the Shopify connection has published figures: nothing to "
                                       "reconcile")
        sampled = sample_shops(active, fraction, seed, bool(params.get("all_shops")))
        open_reconciliation(conn, dag_run.dag_id, dag_run.run_id, as_of_date=as_of, days=int(params.get("days") or 7),
                            fraction=fraction, all_shops=bool(params.get("all_shops")), seed=seed,
                            shops_active=len(active), shops_sampled=sampled)
    return [listed[shop] for shop in sampled]


@task(**dag_settings.task_args("reconcile_shop"))
def reconcile_shop(shop_gid: str) -> str:
    """Recompute one shop's last days from the source and store every comparison; a source down or a token
    revoked fails this shop only (recorded, named)."""
    context = get_current_context()
    settings = Settings()
    reconciliation = _reconciliation(context)
    shop_id = legacy_id(shop_gid)
    dsn = warehouse()
    access = next((a for a in shops_from_airflow_connection(settings.shopify_conn_id) if a.shop_gid == shop_gid),
                  None)
    if access is None:
        raise AirflowFailException(f"shop {shop_id} is no longer in the Shopify connection {settings.shopify_conn_id}")
    with ShopifyClient(access, settings) as client:
        try:
            reconcile_and_record(dsn, client, reconciliation.reconciliation_run_id, shop_id,
                                 days=reconciliation.days, last_day=reconciliation.as_of_date,
                                 now=datetime.now(timezone.utc))
        except SourceUnavailable:
            raise
        except (ExtractionError, ShopRuleError) as error:
            raise AirflowFailException(f"shop {shop_id}: {error}") from error
    return shop_id


@task(trigger_rule="all_done", **dag_settings.task_args("summarize"))
def summarize() -> list[dict]:
    """Sum the run up, close what the source now agrees with, alert once, and ask for the repairs: returns
    the shop revenue runs to trigger (run id and conf)."""
    context = get_current_context()
    settings = Settings()
    dag_run = context["dag_run"]
    reconciliation = _reconciliation(context)
    run_id = reconciliation.reconciliation_run_id
    with connect(warehouse()) as conn:
        # A shop whose task ended without recording anything (killed, crashed) was not compared either.
        for shop_id in sorted(set(reconciliation.shops_sampled) - recorded_shops(conn, run_id)):
            record_shop_failure(conn, run_id, shop_id, "its task ended without recording a comparison")
        summary = close_reconciliation(conn, run_id)
        # The incident ledger takes the discrepancies in now, not at the next shop revenue run.
        absorb_reconciliations(conn, business_today(settings.business_timezone))
        discrepancies = discrepancies_of(conn, run_id)
        failed = failed_shops_of(conn, run_id)
        repairs = request_repairs(conn, run_id, f"reconciliation_{run_id}__repair_shop_")
    if discrepancies or failed:
        send_slack(settings.slack_conn_id, discrepancy_alert(
            discrepancies, failed, summary.shop_days_compared, dag_settings.run_url(dag_run.dag_id, dag_run.run_id)))
    return [{"trigger_run_id": repair.repair_run_id,
             "conf": {"shops": [repair.shop_id], "from": repair.from_day.isoformat(),
                      "to": repair.to_day.isoformat(), "full_extraction": False}}
            for repair in repairs]


def repair(requests) -> TriggerDagRunOperator:
    """One shop revenue run per shop with discrepancies, for exactly its days: the certified path repairs."""
    return TriggerDagRunOperator.partial(
        task_id="repair", trigger_dag_id=REVENUE_DAG_ID, logical_date=None, openlineage_inject_parent_info=False,
        skip_when_already_exists=True, **dag_settings.task_args("repair"),
    ).expand_kwargs(requests)


@task(trigger_rule="none_failed", **dag_settings.task_args("finish"))
def finish() -> dict:
    """End the run failed when a shop could not be compared (named); its figures were not checked."""
    context = get_current_context()
    reconciliation = _reconciliation(context)
    with connect(warehouse()) as conn:
        failed = failed_shops_of(conn, reconciliation.reconciliation_run_id)
        summary = reconciliation_summary(conn, reconciliation.reconciliation_run_id)
    if failed:
        raise AirflowFailException("shops not compared: " + "; ".join(f"{shop}: {why}"
                                                                        for shop, why in sorted(failed.items())))
    if not summary.shop_days_compared:
        raise AirflowFailException("no shop-day was compared: a reconciliation that compared nothing is no "
                                   "evidence")
    return {"status": summary.status, "shop_days_compared": summary.shop_days_compared,
            "discrepancies": summary.discrepancies, "discrepancy_rate": str(summary.discrepancy_rate)}
