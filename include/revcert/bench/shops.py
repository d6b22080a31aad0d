"""The shop revenue pipeline's benchmark: generated shops served by the Shopify stand-in.

Steps, each in a process of its own: generation; extraction in pages (a sample of
shops: paging everything only repeats the figure) and through bulk operations
(every shop); then the full run's recompute (mart), certification (against the
independent derivation) and publishing of every shop, and a reconciliation of the
last 7 days of 5% and of all the shops against the source (the requests and
query cost it spends at the source). Then 1% of the orders
change at the source (refunds, cancellations, edited totals) and the run is
repeated incrementally, as the twice-daily schedule runs it; its time is set
beside the full run's. The stand-in's rate limit is wide open: these are the
client's and the warehouse's figures, not Shopify's limits.
"""
from __future__ import annotations

import json
import tempfile
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from revcert.bench.figures import StepFigures, format_figures, peak_mib, run_step
from revcert.bench.salesforce import fresh_database
from revcert.warehouse.connection import connect
from revcert.warehouse.embedded import EmbeddedPostgres

DAG_ID = "bench_shops"
CHANGED_SHARE = 100  # one order in a hundred


def _generate(out: str, shops: str, orders: str) -> dict[str, Any]:
    from revcert.snapshots.shopify_generator import ShopShape, generate_shops

    started = time.monotonic()
    counts = generate_shops(Path(out), ShopShape(shops=int(shops), orders=int(orders)))
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": counts["orders"]}


def _extract(url: str, connection_file: str, api: str, full: str, sample: str) -> dict[str, Any]:
    from revcert.extraction.shopify_client import ShopifyClient, shops_from_connection
    from revcert.local.extract import extract_shopify
    from revcert.settings import Settings

    connection = json.loads(Path(connection_file).read_text())
    accesses = shops_from_connection(connection["host"], connection["extra"])
    accesses = accesses[:int(sample)] if int(sample) else accesses
    threshold = {"bulk": 0, "paged": 10**12}.get(api)
    settings = Settings(request_timeout=120) if threshold is None else \
        Settings(request_timeout=120, shopify_bulk_threshold=threshold)
    started = time.monotonic()
    batches = []
    for access in accesses:
        with ShopifyClient(access, settings) as client:
            batches.append(extract_shopify(url, client, settings, full=full == "1"))
    seconds = time.monotonic() - started
    with connect(url) as conn:
        fetched = conn.execute("select sum(orders_fetched) from staging.shopify_extraction_audit "
                               "where batch_id = any(%s)", [batches]).fetchone()[0]
    return {"seconds": seconds, "peak_mib": peak_mib(), "records": int(fetched or 0)}


def _latest_batches(conn) -> dict[str, int]:
    return dict(conn.execute("select distinct on (shop_id) shop_id, batch_id from staging.shopify_extraction_audit "
                             "order by shop_id, batch_id desc").fetchall())


def _mart(url: str, as_of: str, run_id: str, whole: str) -> dict[str, Any]:
    from revcert.certification.record import open_certification, update_certification
    from revcert.methodology.shop_mart import build_shop_mart
    from revcert.methodology.shop_settings import load_shop_settings, read_shop_settings
    from revcert.settings import Settings

    started = time.monotonic()
    days = 0
    with connect(url) as conn:
        load_shop_settings(conn, read_shop_settings(Settings().shop_settings_file))
        batches = _latest_batches(conn)
    for shop_id, batch_id in sorted(batches.items()):
        with connect(url) as conn:
            certification_id = open_certification(conn, DAG_ID, run_id, date.fromisoformat(as_of), scope=shop_id)
            update_certification(conn, certification_id, extraction_batch_id=batch_id)
            days += len(build_shop_mart(conn, shop_id, date.fromisoformat(as_of), certification_id,
                                        whole=whole == "1").days_in_scope)
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": days}


def _certify(url: str, run_id: str) -> dict[str, Any]:
    from revcert.certification.certify import certify_shop
    from revcert.certification.record import read_certification, scoped_certifications

    started = time.monotonic()
    with connect(url) as conn:
        shops = scoped_certifications(conn, DAG_ID, run_id)
    for shop_id, certification_id in shops.items():
        with connect(url) as conn:
            certify_shop(conn, read_certification(conn, certification_id))
            record = read_certification(conn, certification_id)
        if record.status != "certified":
            raise SystemExit(f"shop {shop_id} was not certified: {record.failure_summary}")
    with connect(url) as conn:
        days = conn.execute("select coalesce(sum(days_in_scope), 0) from mart.mart_shop_build "
                            "where certification_id = any(%s)", [list(shops.values())]).fetchone()[0]
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": int(days)}


def _publish(url: str, run_id: str) -> dict[str, Any]:
    from revcert.certification.record import read_certification, scoped_certifications, update_certification
    from revcert.publishing.shop_daily_revenue import publish_shop

    started = time.monotonic()
    written = 0
    with connect(url) as conn:
        shops = scoped_certifications(conn, DAG_ID, run_id)
    for shop_id, certification_id in shops.items():
        with connect(url) as conn:
            record = read_certification(conn, certification_id)
            written += publish_shop(conn, shop_id, certification_id, record.figures_hash).days_written
            now = datetime.now(timezone.utc)
            update_certification(conn, certification_id, published_at=now, closed_at=now)
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": written}


def change_one_percent(store) -> int:
    """Change one order in a hundred at the source, spread over every shop: a refund, a cancellation, or an
    edited total, in turn. Returns how many orders changed."""
    changed = 0
    for shop_gid in store.shops:
        for index, order in enumerate(islice(store.orders(shop_gid), 0, None, CHANGED_SHARE)):
            presentment = order["totalPriceSet"]["presentmentMoney"]
            if index % 3 == 0 and Decimal(presentment["amount"]) > 0:
                store.add_refund(order["id"], {"transactions": [{"kind": "REFUND", "status": "SUCCESS", "amountSet": {
                    "presentmentMoney": {"amount": "0.01", "currencyCode": presentment["currencyCode"]}}}]})
            elif index % 3 == 1:
                store.edit_order(order["id"], {"cancelledAt": order["updatedAt"]})
            else:
                shop_money = order["totalPriceSet"]["shopMoney"]
                store.edit_order(order["id"], {"totalPriceSet": {
                    "shopMoney": {**shop_money, "amount": str(_plus_a_cent(shop_money["amount"]))},
                    "presentmentMoney": {**presentment, "amount": str(_plus_a_cent(presentment["amount"]))}}})
            changed += 1
    return changed


def _reconcile(url: str, connection_file: str, as_of: str, fraction: str) -> dict[str, Any]:
    """A reconciliation of the shops' last 7 days against the source, as the DAG's tasks run it per shop."""
    from revcert.extraction.shopify_client import ShopifyClient, shops_from_connection
    from revcert.reconciliation.ledger import close_reconciliation, open_reconciliation
    from revcert.reconciliation.shop_comparison import sample_shops
    from revcert.reconciliation.source import reconcile_and_record
    from revcert.settings import Settings

    connection = json.loads(Path(connection_file).read_text())
    accesses = {a.shop_id: a for a in shops_from_connection(connection["host"], connection["extra"])}
    sampled = sample_shops(accesses, Decimal(fraction), seed=20261121)
    settings = Settings(request_timeout=120)
    started = time.monotonic()
    requests = cost = compared = 0
    with connect(url) as conn:
        run_id = open_reconciliation(conn, DAG_ID, f"reconcile-{fraction}", as_of_date=date.fromisoformat(as_of),
                                     days=7, fraction=Decimal(fraction), all_shops=False, seed=20261121,
                                     shops_active=len(accesses), shops_sampled=sampled)
    for shop_id in sampled:
        with ShopifyClient(accesses[shop_id], settings) as client:
            outcome = reconcile_and_record(url, client, run_id, shop_id, days=7, last_day=date.fromisoformat(as_of),
                                           now=datetime.now(timezone.utc))
            requests, cost = requests + client.requests_sent, cost + client.cost_spent
            compared += len(outcome.comparisons)
    with connect(url) as conn:
        summary = close_reconciliation(conn, run_id)
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": compared,
            "detail": f"{len(sampled)} shops, {requests} requests, {cost:,} cost points = {cost / compared:.0f} per "
                      f"shop-day; {summary.discrepancies} discrepancies"}


def _plus_a_cent(amount: str) -> Decimal:
    return Decimal(amount) + Decimal("0.01")


def _run(url: str, as_of: date, run_id: str, whole: bool, connection_file: Path) -> list[StepFigures]:
    label = "full" if whole else "incremental"
    return [
        run_step("shops-extract", url, str(connection_file), "auto" if not whole else "bulk", "1" if whole else "0",
                 "0", unit="orders", name=f"{label}: extract"),
        run_step("shops-mart", url, as_of.isoformat(), run_id, "1" if whole else "0", unit="days",
                 name=f"{label}: mart (recompute)"),
        run_step("shops-certify", url, run_id, unit="days", name=f"{label}: certify"),
        run_step("shops-publish", url, run_id, unit="days", name=f"{label}: publish"),
    ]


def run_shops_benchmark(shops: int, orders: int, as_of: date, paged_shops: int = 10) -> str:
    """Generate `shops` shops with `orders` orders, extract them, recompute, certify and publish them whole,
    change 1% of the orders, and run again incrementally."""
    from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore

    figures: list[StepFigures] = []
    with tempfile.TemporaryDirectory(prefix="revcert-bench-shops-") as workdir:
        snapshot = Path(workdir) / "shops"
        figures.append(run_step("shops-generate", str(snapshot), str(shops), str(orders), unit="orders",
                                name="generate shops"))
        store = ShopifyStore.from_snapshot(snapshot)
        server = EmbeddedPostgres(Path(workdir) / "pgdata")
        server.start()
        try:
            with ShopifyStandIn(store, state_dir=Path(workdir) / "standin", bucket_size=10**9,
                                restore_rate=10**9) as standin:
                connection_file = Path(workdir) / "shopify-connection.json"
                connection_file.write_text(standin.airflow_connection())
                sample_url = fresh_database(server, "bench_shops_paged")
                figures.append(run_step("shops-extract", sample_url, str(connection_file), "paged", "1",
                                        str(paged_shops), unit="orders",
                                        name=f"extract in pages ({paged_shops} shops)"))
                url = fresh_database(server, "bench_shops")
                full = _run(url, as_of, "full", True, connection_file)
                reconciliations = [run_step("shops-reconcile", url, str(connection_file), as_of.isoformat(),
                                            fraction, unit="shop-days", name=f"reconcile 7 days, {label}")
                                   for fraction, label in (("0.05", "5% of shops"), ("1", "all shops"))]
                changed = change_one_percent(store)
                incremental = _run(url, as_of, "incremental", False, connection_file)
        finally:
            server.stop()
    figures += full + reconciliations + incremental
    full_seconds = sum(step.seconds for step in full)
    incremental_seconds = sum(step.seconds for step in incremental)
    notes = [f"full run {full_seconds:.1f} s; incremental run after {changed} orders changed "
             f"({changed / orders:.1%}) {incremental_seconds:.1f} s = {incremental_seconds / full_seconds:.1%} of "
             "the full run (goal: under 10%)",
             f"peak memory of any step {max(step.peak_mib for step in figures):.0f} MiB (goal: under 1,024)"]
    return format_figures(f"{shops} shops, {orders} orders", figures, notes)


STEPS = {"shops-generate": _generate, "shops-extract": _extract, "shops-mart": _mart, "shops-certify": _certify,
         "shops-publish": _publish, "shops-reconcile": _reconcile}
