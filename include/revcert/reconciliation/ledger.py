"""Every reconciliation kept in the warehouse: its run, each shop's outcome, each shop-day compared.

Tasks pass nothing to each other but shop ids: each finds its reconciliation by
(DAG id, run id). Recording a shop replaces what an earlier try of the same run
recorded for it, so a retried task never counts a shop-day twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg

from revcert.reconciliation.shop_comparison import Comparison
from revcert.sqlfiles import load_sql


@dataclass(frozen=True)
class Reconciliation:
    reconciliation_run_id: int
    dag_id: str
    run_id: str
    as_of_date: date | None
    days: int
    fraction: Decimal
    all_shops: bool
    seed: int
    shops_sampled: tuple[str, ...]


@dataclass(frozen=True)
class ReconciliationSummary:
    reconciliation_run_id: int
    status: str
    shop_days_compared: int
    discrepancies: int
    shops_failed: int
    discrepancy_rate: Decimal | None


@dataclass(frozen=True)
class Repair:
    """The shop revenue run a reconciliation asks for: one shop, a range of its days."""

    shop_id: str
    from_day: date
    to_day: date
    repair_run_id: str


def reconciled_shops(conn: psycopg.Connection) -> list[str]:
    return [row[0] for row in conn.execute(load_sql("reconciliation", "reconciled_shops"))]


def open_reconciliation(conn: psycopg.Connection, dag_id: str, run_id: str, *, as_of_date: date | None, days: int,
                        fraction: Decimal, all_shops: bool, seed: int, shops_active: int,
                        shops_sampled: Sequence[str]) -> int:
    """The reconciliation of a DAG run (opened once; a retry finds the same one)."""
    return conn.execute(
        "insert into monitoring.reconciliation_run (dag_id, run_id, as_of_date, days, fraction, all_shops, seed, "
        "shops_active, shops_sampled, status) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'running') "
        "on conflict (dag_id, run_id) do update set status = 'running' returning reconciliation_run_id",
        [dag_id, run_id, as_of_date, days, fraction, all_shops, seed, shops_active, list(shops_sampled)],
    ).fetchone()[0]


def reconciliation_of_run(conn: psycopg.Connection, dag_id: str, run_id: str) -> Reconciliation | None:
    row = conn.execute(
        "select reconciliation_run_id, dag_id, run_id, as_of_date, days, fraction, all_shops, seed, shops_sampled "
        "from monitoring.reconciliation_run where dag_id = %s and run_id = %s", [dag_id, run_id]).fetchone()
    return Reconciliation(*row[:8], tuple(row[8])) if row else None


def stored_shop_days(conn: psycopg.Connection, shop_id: str, days: Sequence[date]) -> dict[date, tuple[Decimal, int]]:
    """The published net revenue (and its certification) of a shop's days."""
    rows = conn.execute(load_sql("reconciliation", "stored_shop_days"),
                        {"shop_id": shop_id, "from_day": min(days), "to_day": max(days)})
    return {day: (net, certification_id) for day, net, certification_id in rows}


def last_published_day(conn: psycopg.Connection, shop_id: str) -> date | None:
    return conn.execute("select max(day) from viz.shop_daily_revenue where shop_id = %s", [shop_id]).fetchone()[0]


def _forget_shop(conn: psycopg.Connection, reconciliation_run_id: int, shop_id: str) -> None:
    for table in ("reconciliation_result", "reconciliation_shop"):
        conn.execute(f"delete from monitoring.{table} where reconciliation_run_id = %s and shop_id = %s",
                     [reconciliation_run_id, shop_id])


def record_shop(conn: psycopg.Connection, reconciliation_run_id: int, shop_id: str,
                comparisons: Sequence[Comparison], *, orders_read: int, source_requests: int,
                source_cost: int) -> None:
    """Store every comparison of one shop (in the caller's transaction)."""
    _forget_shop(conn, reconciliation_run_id, shop_id)
    days = [c.day for c in comparisons]
    conn.execute(
        "insert into monitoring.reconciliation_shop (reconciliation_run_id, shop_id, status, first_day, last_day, "
        "orders_read, source_requests, source_cost) values (%s, %s, 'compared', %s, %s, %s, %s, %s)",
        [reconciliation_run_id, shop_id, min(days, default=None), max(days, default=None), orders_read,
         source_requests, source_cost])
    with conn.cursor() as cursor:
        cursor.executemany(
            "insert into monitoring.reconciliation_result (reconciliation_run_id, shop_id, day, currency, "
            "source_net_revenue, stored_net_revenue, stored_certification_id, difference, relative_difference, "
            "status, differing_order_ids) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(reconciliation_run_id, c.shop_id, c.day, c.currency, c.source_net_revenue, c.stored_net_revenue,
              c.stored_certification_id, c.difference, c.relative_difference,
              "discrepancy" if c.is_discrepancy else "match", list(c.differing_order_ids)) for c in comparisons])


def record_shop_failure(conn: psycopg.Connection, reconciliation_run_id: int, shop_id: str, why: str, *,
                        source_requests: int = 0, source_cost: int = 0) -> None:
    """A shop that could not be compared: named, with why; nothing of it counts as compared."""
    _forget_shop(conn, reconciliation_run_id, shop_id)
    conn.execute(
        "insert into monitoring.reconciliation_shop (reconciliation_run_id, shop_id, status, error, source_requests, "
        "source_cost) values (%s, %s, 'failed', %s, %s, %s)",
        [reconciliation_run_id, shop_id, why, source_requests, source_cost])


def close_reconciliation(conn: psycopg.Connection, reconciliation_run_id: int) -> ReconciliationSummary:
    """Sum the reconciliation up, close earlier discrepancies now equal to the source, and set its status."""
    params = {"reconciliation_run_id": reconciliation_run_id}
    conn.execute(load_sql("reconciliation", "earlier_discrepancies_closed"), params)
    compared, discrepancies, failed, rate = conn.execute(load_sql("reconciliation", "reconciliation_summary"),
                                                         params).fetchone()
    status = "failed" if failed else ("discrepancies" if discrepancies else "clean")
    conn.execute("update monitoring.reconciliation_run set status = %s, shop_days_compared = %s, discrepancies = %s, "
                 "shops_failed = %s, discrepancy_rate = %s, finished_at = now() where reconciliation_run_id = %s",
                 [status, compared, discrepancies, failed, rate, reconciliation_run_id])
    return ReconciliationSummary(reconciliation_run_id, status, compared, discrepancies, failed, rate)


def recorded_shops(conn: psycopg.Connection, reconciliation_run_id: int) -> set[str]:
    """The shops of a reconciliation with an outcome recorded (compared or failed)."""
    return {row[0] for row in conn.execute("select shop_id from monitoring.reconciliation_shop where "
                                           "reconciliation_run_id = %s", [reconciliation_run_id])}


def reconciliation_summary(conn: psycopg.Connection, reconciliation_run_id: int) -> ReconciliationSummary:
    """A closed reconciliation's outcome, as close_reconciliation recorded it."""
    row = conn.execute("select status, shop_days_compared, discrepancies, shops_failed, discrepancy_rate from "
                       "monitoring.reconciliation_run where reconciliation_run_id = %s",
                       [reconciliation_run_id]).fetchone()
    return ReconciliationSummary(reconciliation_run_id, *row)


def discrepancies_of(conn: psycopg.Connection, reconciliation_run_id: int) -> list[Comparison]:
    rows = conn.execute(
        "select shop_id, day, currency, source_net_revenue, stored_net_revenue, stored_certification_id, "
        "differing_order_ids from monitoring.reconciliation_result where reconciliation_run_id = %s and "
        "status = 'discrepancy' order by shop_id, day", [reconciliation_run_id])
    return [Comparison(*row[:6], tuple(row[6])) for row in rows]


def failed_shops_of(conn: psycopg.Connection, reconciliation_run_id: int) -> dict[str, str]:
    return dict(conn.execute("select shop_id, error from monitoring.reconciliation_shop where "
                             "reconciliation_run_id = %s and status = 'failed'", [reconciliation_run_id]))


def request_repairs(conn: psycopg.Connection, reconciliation_run_id: int, repair_prefix: str) -> list[Repair]:
    """One repair per shop with discrepancies, recorded against each of them."""
    rows = conn.execute(load_sql("reconciliation", "repairs_requested"),
                        {"reconciliation_run_id": reconciliation_run_id, "repair_prefix": repair_prefix})
    return [Repair(*row) for row in rows]
