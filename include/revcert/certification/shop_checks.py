"""The checks of METHODOLOGY.md Part C for one shop of a shop revenue run, each exact to the cent.

1. Completeness: the shop's orders staged equal the count Shopify gave at extraction.
2. Integrity: no order or shop breaks a rule of Part B.
4. Independent derivation: every shop-day this run recomputed, derived a second
   time from staging by the pure functions of shop_day_revenue, equals the mart.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from revcert.certification.checks import integrity_result
from revcert.certification.record import CheckResult
from revcert.certification.shop_day_revenue import (
    Order,
    Refund,
    RefundTransaction,
    ShopDay,
    ShopRuleError,
    ShopSettings,
    local_day_bounds,
    shop_days,
)
from revcert.methodology.shop_mart import check_shop
from revcert.sqlfiles import load_sql
from revcert.staging.shopify_staging import read_shop_audit
from revcert.warehouse.schema import SHOP_DAY_FIGURES

_SHOWN = 20


def check_shop_completeness(conn: psycopg.Connection, batch_id: int) -> CheckResult:
    """1. The shop's staged orders = the count the source gave when it was read."""
    audit = read_shop_audit(conn, batch_id)
    if audit is None:
        return CheckResult("completeness", False, f"batch {batch_id} has no audit",
                           [{"object": "Order", "figure": "audit", "expected": "a staged batch", "actual": "none"}])
    if audit.complete:
        return CheckResult("completeness", True, f"batch {batch_id}: {audit.staged_count} orders staged, as Shopify "
                                                 "counts them")
    return CheckResult("completeness", False, f"batch {batch_id}: {audit.staged_count} orders staged, Shopify counts "
                                              f"{audit.source_count} (re-run with full_extraction if orders were "
                                              "deleted at the source)",
                       [{"object": f"shop {audit.shop_id} orders", "figure": "count", "expected": audit.source_count,
                         "actual": audit.staged_count, "difference": audit.staged_count - audit.source_count}])


def check_shop_integrity(conn: psycopg.Connection, shop_id: str) -> CheckResult:
    """2. No record of the shop breaks a rule of Part B."""
    return integrity_result(check_shop(conn, shop_id), "every order has its totals, every refund its order's "
                                                        "currency and rate, and the shop a known timezone")


def _windows(days: set[date], zone: ZoneInfo | None) -> tuple[list[datetime], list[datetime]]:
    """UTC windows holding every instant of the given local days, adjoining ones merged: each day's own
    span in the shop's zone, or without a known zone the day widened by a day either side (offsets stay
    within a day of UTC)."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for day in sorted(days):
        if zone is None:
            start = datetime.combine(day - timedelta(days=1), time(), timezone.utc)
            end = datetime.combine(day + timedelta(days=2), time(), timezone.utc)
        else:
            start, end = local_day_bounds(day, zone)
        if ends and start <= ends[-1]:
            ends[-1] = max(end, ends[-1])
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _zone(settings: ShopSettings) -> ZoneInfo | None:
    try:
        return settings.zone()
    except ShopRuleError:  # the derivation refuses the shop itself, with its rule
        return None


def read_staged_shop(conn: psycopg.Connection, shop_id: str, days: set[date] | None = None
                     ) -> tuple[ShopSettings, list[Order]]:
    """The shop and its orders with their refunds, straight from the staging tables: every order, or
    at least those that can count on `days` (placed on them, or refunded on them for a refund-date shop)."""
    shop = conn.execute(load_sql("certification", "staged_shop"), {"shop_id": shop_id}).fetchone()
    settings = ShopSettings(shop[0], shop[1] or "", shop[2] or "", refunds_on_refund_date=shop[3])
    starts, ends = _windows(days, _zone(settings)) if days is not None else (None, None)
    rows = conn.execute(load_sql("certification", "staged_shop_orders"), {
        "shop_id": shop_id, "starts": starts, "ends": ends, "refund_dates": settings.refunds_on_refund_date,
    }).fetchall()
    refunds: dict[str, dict[str, tuple[Any, list[RefundTransaction]]]] = defaultdict(dict)
    for order_id, refund_id, created_at, *transaction in conn.execute(
            load_sql("certification", "staged_shop_refund_transactions"), {"order_ids": [row[0] for row in rows]}):
        refunds[order_id].setdefault(refund_id, (created_at, []))[1].append(RefundTransaction(*transaction))
    orders = [Order(order_id, created_at, is_test, cancelled_at, shop_total, shop_currency, presentment_total,
                    presentment_currency, tuple(Refund(refund_id, refunded_at, tuple(transactions))
                                                for refund_id, (refunded_at, transactions)
                                                in refunds.get(order_id, {}).items()))
              for (order_id, created_at, is_test, cancelled_at, shop_total, shop_currency, presentment_total,
                   presentment_currency) in rows]
    return settings, orders


def _mart_days(conn: psycopg.Connection, shop_id: str) -> dict[date, dict[str, Any]]:
    columns = ("day", "currency", *SHOP_DAY_FIGURES)
    rows = conn.execute(f"select {', '.join(columns)} from mart.mart_shop_day where shop_id = %s and day in "
                        "(select day from mart.mart_shop_day_scope where shop_id = %s)", [shop_id, shop_id])
    return {row[0]: dict(zip(columns[1:], row[1:])) for row in rows}


def check_shop_derivation(conn: psycopg.Connection, shop_id: str) -> CheckResult:
    """4. The shop-days in this run's scope, derived again from staging, equal the mart's to the cent."""
    scope = {row[0] for row in conn.execute("select day from mart.mart_shop_day_scope where shop_id = %s",
                                            [shop_id])}
    try:
        settings, orders = read_staged_shop(conn, shop_id, scope)
        derived = shop_days(orders, settings, scope)
    except ShopRuleError as error:
        return CheckResult("independent_derivation", False, f"the derivation refused the data: {error}",
                           [{"rule": error.rule, "record_id": i, "actual": str(error), "record_ids": [i]}
                            for i in error.record_ids[:_SHOWN]])
    mart = _mart_days(conn, shop_id)
    discrepancies = []
    for day in sorted(scope | set(mart)):
        expected = derived.get(day, ShopDay(shop_id, day, settings.currency)).figures()
        actual = mart.get(day, {})
        for figure, value in expected.items():
            if actual.get(figure) != value:
                mart_value = actual.get(figure)
                difference = (mart_value - value if isinstance(mart_value, (Decimal, int))
                              and isinstance(value, (Decimal, int)) else None)
                discrepancies.append({"shop_id": shop_id, "day": day, "figure": figure, "expected": value,
                                      "actual": mart_value, "difference": difference})
    if not discrepancies:
        return CheckResult("independent_derivation", True, f"{len(scope)} shop-day(s) equal to the cent")
    return CheckResult("independent_derivation", False,
                       f"{len(discrepancies)} figure(s) of shop {shop_id} differ from the independent derivation",
                       discrepancies)
