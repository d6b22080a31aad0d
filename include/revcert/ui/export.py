"""Published rows as CSV for a spreadsheet: the same exact values the JSON carries, under a preamble that
names where they come from (currency, certification and snapshot date), so a sheet passed on keeps its
provenance."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Columns whose distinct values the preamble names, and how it names them.
PROVENANCE = (("currency", "currency"), ("certification_id", "certification"),
              ("certification_ids", "certification"), ("snapshot_date", "snapshot date"))
# A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One value as CSV text: amounts as their exact decimal text, dates and times in ISO 8601, lists and
    records as JSON (amounts inside as strings), and text that a spreadsheet would run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _each(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def provenance(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    """The preamble's lines: for each provenance column the rows have, its distinct values."""
    lines = []
    for column, label in PROVENANCE:
        if column in columns:
            values = sorted({value for row in rows for value in _each(row.get(column)) if value is not None})
            lines.append(f"{label}: {', '.join(cell(v) for v in values) or 'none'}")
    return lines


def as_csv(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str], read_at: datetime) -> str:
    """`rows` under a preamble of `# ` lines (title, provenance, when read), then a header of `columns`."""
    out = io.StringIO()
    for line in (title, *provenance(rows, columns), f"read at {read_at.isoformat()}"):
        # A title names published text (a shop, a business unit): a line break in it must not end the preamble.
        out.write("# " + " ".join(line.splitlines()) + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([cell(row.get(column)) for column in columns] for row in rows)
    return out.getvalue()
