"""Run the shop_daily_revenue DAG once, in a local Airflow home, as `revcert shop run` does.

The same machinery as `revcert run` (revcert.local.run): `dag.test` in a child
process, the warehouse migrated, Slack received locally unless configured, and
the Shopify stand-in serving a snapshot from this process when one is given.
`--refund-date-shops` adds rows to a copy of the reviewed shop settings file for
this run only (the reason says so).
"""
from __future__ import annotations

import csv
import getpass
import os
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from revcert.local.run import DagRunOutcome, run_dag_locally
from revcert.settings import Settings

DAG_ID = "shop_daily_revenue"


@dataclass(frozen=True)
class ShopResult:
    shop_id: str
    certification_id: int
    status: str
    published: bool
    why: str | None


@dataclass(frozen=True)
class ShopRunResult:
    state: str
    run_id: str
    task_states: dict[str, str]
    shops: list[ShopResult]
    report: str
    slack_messages: list[str]
    log_file: Path

    @property
    def failed_shops(self) -> list[ShopResult]:
        return [shop for shop in self.shops if shop.status != "certified" or not shop.published]

    @property
    def certified(self) -> bool:
        """Every shop certified and published, by records of this run's own."""
        return self.state == "success" and bool(self.shops) and not self.failed_shops


def settings_file_with_refund_date_shops(settings: Settings, shop_ids: list[str], directory: Path) -> Path:
    """The reviewed shop settings plus `shop_ids` on refund dates, as a file for this run only."""
    from revcert.methodology.shop_settings import COLUMNS, read_shop_settings

    rows = {s.shop_id: s for s in read_shop_settings(settings.shop_settings_file)}
    path = directory / "shop_settings.run.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for shop_id, setting in rows.items():
            if shop_id not in shop_ids:
                writer.writerow([setting.shop_id, setting.refund_attribution, setting.reason, setting.approver])
        for shop_id in shop_ids:
            writer.writerow([shop_id, "refund_date", "revcert shop run --refund-date-shops",
                             os.environ.get("USER") or getpass.getuser()])
    return path


def run_shop_daily_revenue(*, snapshot: Path | None = None, shopify_conn: str | None = None,
                           database_url: str | None = None, as_of: date, refund_date_shops: list[str] = (),
                           full: bool = False, shops: list[str] = (), days: tuple[date, date] | None = None,
                           settings: Settings | None = None, console: IO[str] | None = None) -> ShopRunResult:
    """Run the shop_daily_revenue DAG once, end to end, and report each shop's certification: every shop, or
    `shops`; `days` (first, last) recomputes that range of local days too (the repair path)."""
    from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore

    settings = settings or Settings()

    def connections(stack: ExitStack, settings: Settings) -> dict[str, str]:
        env = {}
        if snapshot is not None:
            standin = stack.enter_context(ShopifyStandIn(ShopifyStore.from_snapshot(snapshot)))
            env["AIRFLOW_CONN_" + settings.shopify_conn_id.upper()] = standin.airflow_connection()
        elif shopify_conn:
            env["REVCERT_SHOPIFY_CONN_ID"] = shopify_conn
        if refund_date_shops:
            settings.home.mkdir(parents=True, exist_ok=True)
            env["REVCERT_SHOP_SETTINGS_FILE"] = str(settings_file_with_refund_date_shops(
                settings, list(refund_date_shops), settings.home))
        return env

    conf = {"as_of": as_of.isoformat(), "shops": list(shops), "from": days[0].isoformat() if days else None,
            "to": days[1].isoformat() if days else None, "full_extraction": full}
    run = run_dag_locally(DAG_ID, conf, as_of=as_of, database_url=database_url, connections=connections,
                          settings=settings, console=console or sys.stdout)
    return _outcome(run)


def _outcome(run: DagRunOutcome) -> ShopRunResult:
    from revcert.certification.record import read_certification, scoped_certifications
    from revcert.publishing.reports import shop_revenue_report
    from revcert.warehouse.connection import connect

    with connect(run.dsn) as conn:
        shops = []
        for shop_id, certification_id in scoped_certifications(conn, DAG_ID, run.run_id).items():
            record = read_certification(conn, certification_id)
            shops.append(ShopResult(shop_id, certification_id, record.status, record.published_at is not None,
                                    record.failure_summary))
        report = shop_revenue_report(conn)
    return ShopRunResult(run.state, run.run_id, run.tasks, shops, report, run.slack_messages, run.log_file)
