"""The certified figures as people read them in a terminal: from viz only, never recomputed."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import psycopg
from psycopg.rows import dict_row
from tabulate import tabulate

from revcert.sqlfiles import load_sql
from revcert.warehouse.schema import BRIDGE_AMOUNTS

HEADINGS = ("month", "starting", "new", "expansion", "contraction", "churn", "winback", "net new", "ending",
            "revenue", "customers")


def _table(rows: list[dict]) -> str:
    return tabulate([(row["month"].strftime("%Y-%m"), *(f"{row[name]:,.2f}" for name in BRIDGE_AMOUNTS),
                      row["active_customers"]) for row in rows],
                    headers=HEADINGS, disable_numparse=True, colalign=("left", *["right"] * (len(HEADINGS) - 1)))


def _first_of_last(months: int, latest: date) -> date:
    index = latest.year * 12 + latest.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def certified_bridge_report(conn: psycopg.Connection, months: int = 12) -> str:
    """The last `months` published months per business unit and in total, with their certifications."""
    with conn.cursor(row_factory=dict_row) as cursor:
        published = cursor.execute(load_sql("api", "api_bridge"),
                                   {"from_month": None, "to_month": None, "business_unit": None}).fetchall()
    totals = [row for row in published if row["is_total"]]
    if not totals:
        return "No certified figures are published yet."
    first = _first_of_last(months, totals[-1]["month"])
    totals = [row for row in totals if row["month"] >= first]
    by_unit: dict[str, list[dict]] = defaultdict(list)
    for row in published:
        if not row["is_total"] and row["month"] >= first:
            by_unit[row["business_unit"]].append(row)
    currency = totals[-1]["currency"]
    lines = []
    for unit in sorted(by_unit):
        lines += [f"Business unit {unit} ({currency})", _table(by_unit[unit]), ""]
    lines += [f"All business units ({currency})", _table(totals)]
    certifications = sorted({row["certification_id"] for row in totals})
    lines += ["", f"Certified by certification {', '.join(map(str, certifications))} "
                  "(certification.certification_run and certification.check_result)."]
    return "\n".join(lines)


SHOP_HEADINGS = ("day", "gross", "refunds", "net", "orders", "refunds #")


def _shop_table(rows: list[dict]) -> str:
    return tabulate([(row["day"].isoformat(), *(f"{row[name]:,.2f}" for name in ("gross_revenue", "refunds",
                                                                                   "net_revenue")),
                      row["order_count"], row["refund_count"]) for row in rows],
                    headers=SHOP_HEADINGS, disable_numparse=True, colalign=("left", *["right"] * 5))


def shop_revenue_report(conn: psycopg.Connection, days: int = 14) -> str:
    """The last `days` published days of every shop, and their sum per currency (exact sums of the
    certified shop figures; amounts of different currencies are never added)."""
    with conn.cursor(row_factory=dict_row) as cursor:
        shops = cursor.execute(load_sql("api", "api_shops"), {"shop_id": None}).fetchall()
        published = [shop for shop in shops if shop["last_day"]]
        lines = [f"Shop {shop['shop_id']}: no certified figures yet (latest attempt, certification "
                 f"{shop['latest_certification_id']}, {shop['latest_status']})" for shop in shops
                 if not shop["last_day"]]
        if not published:
            return "\n".join(lines or ["No certified shop figures are published yet."])
        for shop in published:
            rows = cursor.execute(load_sql("api", "api_shop_daily"), {
                "shop_id": shop["shop_id"], "from_day": shop["last_day"] - timedelta(days=days - 1),
                "to_day": None}).fetchall()
            attempt = "" if shop["latest_certification_id"] == shop["certification_id"] else (
                f"; latest attempt, certification {shop['latest_certification_id']}, {shop['latest_status']}")
            lines += [f"Shop {shop['shop_id']} {shop['shop_name'] or ''} ({shop['currency']}, {shop['iana_timezone']}, "
                      f"refunds on the {shop['refund_attribution'].replace('_', ' ')}), certification "
                      f"{shop['certification_id']}{attempt}", _shop_table(rows), ""]
        latest = max(shop["last_day"] for shop in published)
        totals = cursor.execute(load_sql("api", "api_shop_daily_totals"),
                                {"from_day": latest - timedelta(days=days - 1), "to_day": None}).fetchall()
    by_currency: dict[str, list[dict]] = defaultdict(list)
    for row in totals:
        by_currency[row["currency"]].append(row)
    for currency, rows in sorted(by_currency.items()):
        lines += [f"All shops in {currency} (sums of the certified shop figures above)", _shop_table(rows), ""]
    return "\n".join(lines).rstrip()
