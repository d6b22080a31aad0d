"""The certified figures as people read them in a terminal: from viz only, never recomputed."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

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
        totals = cursor.execute(load_sql("api", "api_bridge_total"), {"from_month": None, "to_month": None}).fetchall()
        if not totals:
            return "No certified figures are published yet."
        window = {"from_month": _first_of_last(months, totals[-1]["month"]), "to_month": None}
        rows = cursor.execute(load_sql("api", "api_bridge"), {**window, "business_unit": None}).fetchall()
        totals = cursor.execute(load_sql("api", "api_bridge_total"), window).fetchall()
    by_unit: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
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
