"""Build one shop's part of the mart from staging (METHODOLOGY.md Part B), then check its rules.

A shop is rebuilt on its own, in the caller's transaction. The days this
run's scope holds (`mart_shop_day_scope`: the days its changes touch since its
figures were last published) are recomputed whole from all of that day's
orders, never patched: every order placed on a day in scope is rebuilt from
staging, with its refunds (and, for a refund-date shop, every refund made on a
day in scope), then each day is summed again from all of its orders and
refunds. Orders on other days keep the rows computed when their day was last
in scope: a row depends on its own order only, and a changed order's day is in
scope. Each model is `sql/mart/<model>.sql`, inserted by column name like the
MRR models.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from revcert.methodology.errors import MethodologyError, Offence, RuleFailure
from revcert.methodology.mart import model_statement
from revcert.sqlfiles import load_sql

SHOP_MODELS = ("mart_shop", "mart_shop_day_scope", "mart_shop_order", "mart_shop_refund", "mart_shop_day")

# Each check is sql/mart/checks/<rule>.sql returning (record_id, detail) for every offending record of a shop.
SHOP_CHECKS = {
    "shop_unknown_timezone": "B3 the shop's timezone is not an IANA name",
    "shop_missing_total": "B2 an order has no total in shop or presentment money",
    "shop_refund_currency_mismatch": "B2 a refund transaction is not in its order's presentment currency",
    "shop_zero_presentment_total_with_refunds": "B2 refunds on an order whose presentment total is zero",
}


@dataclass(frozen=True)
class ShopMartBuild:
    shop_id: str
    days_in_scope: list[date]


def shop_as_of(as_of_date: date, iana_timezone: str | None, now: datetime) -> date:
    """The last day a shop's figures run to: the run's as-of date, or the shop's own today when that is earlier.

    A local day that has not begun has no orders yet; it is never computed, so never published. A timezone
    that is not an IANA name changes nothing here (the rule `shop_unknown_timezone` refuses the shop).
    """
    try:
        local_today = now.astimezone(ZoneInfo(iana_timezone or "")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return as_of_date
    return min(as_of_date, local_today)


def plan_for_one_shop(conn: psycopg.Connection) -> None:
    """Hash joins, never nested loops, for the rest of the caller's transaction.

    A shop's rows are often unknown to the planner's statistics: a shop staged since they were last
    gathered, or mart rows replaced within this transaction, look like a single row. It then nests a loop
    over thousands of orders for each of thousands of rows (47 s for one rule check of one shop of
    19,000 orders at a million; a hash join of the same rows takes 20 ms). Hash joins read a whole side,
    so every statement also names the shop's id on the big tables: their shop index then reads this
    shop's rows, not the warehouse's.
    """
    conn.execute("set local enable_nestloop = off")


def check_shop(conn: psycopg.Connection, shop_id: str) -> list[RuleFailure]:
    """Every rule of SHOP_CHECKS that some record of the shop breaks, with all of its records."""
    plan_for_one_shop(conn)
    failures = []
    for rule, description in SHOP_CHECKS.items():
        rows = conn.execute(load_sql("mart/checks", rule), {"shop_id": shop_id}).fetchall()
        if rows:
            failures.append(RuleFailure(rule, description, tuple(Offence(*row) for row in rows)))
    return failures


def build_shop_mart(conn: psycopg.Connection, shop_id: str, as_of_date: date, certification_id: int, *,
                    whole: bool = False, days: tuple[date, date] | None = None) -> ShopMartBuild:
    """Rebuild a shop's orders and refunds, and its days in scope, as of `as_of_date` (a local date).

    Args:
        conn: The warehouse, in the caller's transaction.
        shop_id: The shop.
        as_of_date: The last local day a run covers.
        certification_id: The shop's certification record this build is for.
        whole: Recompute every day of the shop (a full extraction).
        days: Recompute these days too (a repair or a backfill of a range).

    Raises:
        MethodologyError: records of the shop break a rule; it lists every rule and record.
            The caller rolls back, so the shop's previous mart stays.
    """
    params = {"shop_id": shop_id, "as_of_date": as_of_date, "whole": whole,
              "from_day": days[0] if days else None, "to_day": days[1] if days else None}
    plan_for_one_shop(conn)
    conn.execute(load_sql("methodology", "shop_mart_cleared"), params)
    for model in SHOP_MODELS:
        if model == "mart_shop_order":
            conn.execute(load_sql("methodology", "shop_orders_in_scope_cleared"), params)
        if model == "mart_shop_day":
            conn.execute(load_sql("methodology", "shop_days_in_scope_cleared"), params)
        conn.execute(model_statement(model), params)
    failures = check_shop(conn, shop_id)
    if failures:
        raise MethodologyError(failures)
    scope = [row[0] for row in conn.execute("select day from mart.mart_shop_day_scope where shop_id = %s "
                                            "order by day", [shop_id])]
    conn.execute("insert into mart.mart_shop_build (shop_id, certification_id, as_of_date, days_in_scope, built_at) "
                 "values (%s, %s, %s, %s, now()) on conflict (shop_id) do update set certification_id = "
                 "excluded.certification_id, as_of_date = excluded.as_of_date, days_in_scope = "
                 "excluded.days_in_scope, built_at = now()", [shop_id, certification_id, as_of_date, len(scope)])
    return ShopMartBuild(shop_id, scope)
