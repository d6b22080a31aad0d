"""The certified MRR bridge as people read it in a terminal: from viz only."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import psycopg

from revcert.sqlfiles import load_sql

COLUMNS = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr",
           "recognized_revenue")
HEADINGS = ("month", "starting", "new", "expansion", "contraction", "churn", "winback", "ending",
            "revenue", "customers")


def _table(title: str, rows: list[tuple]) -> list[str]:
    cells = [HEADINGS] + [(month.strftime("%Y-%m"), *(f"{v:,.2f}" for v in values), str(customers))
                          for month, values, customers in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADINGS))]
    lines = [title]
    for index, row in enumerate(cells):
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def certified_bridge_report(conn: psycopg.Connection, months: int = 12) -> str:
    """The last `months` published months per business unit and in total, with their certifications."""
    latest = conn.execute("select max(month) from viz.mrr_bridge").fetchone()[0]
    if latest is None:
        return "No certified figures are published yet."
    index = latest.year * 12 + latest.month - 1 - (months - 1)
    first = date(index // 12, index % 12 + 1, 1)
    rows = conn.execute(load_sql("viz", "api_bridge"), {"from_month": first, "to_month": None,
                                                        "business_unit": None}).fetchall()
    by_unit: dict[str, list[tuple]] = defaultdict(list)
    totals: dict[date, list] = {}
    for month, unit, *values, customers, _, _, _ in sorted(rows, key=lambda row: (row[1], row[0])):
        by_unit[unit].append((month, values, customers))
        total = totals.setdefault(month, [[Decimal(0)] * len(COLUMNS), 0])
        total[0] = [a + b for a, b in zip(total[0], values)]
        total[1] += customers
    lines = []
    for unit, unit_rows in by_unit.items():
        lines += _table(f"Business unit {unit}", unit_rows) + [""]
    lines += _table("All business units", [(m, v, c) for m, (v, c) in sorted(totals.items())])
    certifications = sorted({row[-2] for row in rows})
    lines += ["", f"Certified by certification {', '.join(map(str, certifications))} "
                  "(certification.certification_run and certification.check_result)."]
    return "\n".join(lines)
