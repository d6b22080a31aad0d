"""CSV for spreadsheets: exact values, provenance in the preamble, no formula smuggled in through text."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from revcert.ui.export import as_csv, cell
from tests.ui.exports import read_csv as parsed

READ_AT = datetime(2026, 11, 22, 6, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, text", [
    (Decimal("-1234.50"), "-1234.50"),
    (Decimal("0.10"), "0.10"),
    (Decimal("1E+3"), "1E+3"),
    (7, "7"),
    (True, "true"),
    (None, ""),
    (date(2026, 2, 1), "2026-02-01"),
    (datetime(2026, 11, 21, 18, 0, 5, tzinfo=timezone.utc), "2026-11-21T18:00:05+00:00"),
    ([{"amount": Decimal("0.01")}], '[{"amount": "0.01"}]'),
    ("EMEA", "EMEA"),
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1 Corp", "'+1 Corp"),
    ("-Direct", "'-Direct"),
    ("@SUM(A1)", "'@SUM(A1)"),
], ids=["negative", "trailing-zero", "exponent-kept", "int", "bool", "null", "date", "time", "json", "text",
        "formula", "plus", "minus-text", "at"])
def test_a_cell_is_the_exact_text_and_never_a_formula(value, text):
    assert cell(value) == text


def test_rows_keep_their_values_and_the_preamble_names_their_provenance():
    rows = [
        {"month": date(2026, 9, 1), "business_unit": "EMEA", "currency": "USD", "snapshot_date": date(2026, 10, 31),
         "ending_mrr": Decimal("1000.10"), "certification_id": 12},
        {"month": date(2026, 10, 1), "business_unit": "=cmd", "currency": "USD", "snapshot_date": date(2026, 11, 21),
         "ending_mrr": Decimal("-0.01"), "certification_id": 9},
    ]
    columns = ["month", "business_unit", "currency", "snapshot_date", "ending_mrr", "certification_id"]
    preamble, read = parsed(as_csv("Certified MRR bridge", rows, columns, READ_AT))
    assert preamble == ["Certified MRR bridge", "currency: USD", "certification: 9, 12",
                        "snapshot date: 2026-10-31, 2026-11-21", "read at 2026-11-22T06:00:00+00:00"]
    assert [Decimal(r["ending_mrr"]) for r in read] == [Decimal("1000.10"), Decimal("-0.01")]
    assert [r["ending_mrr"] for r in read] == ["1000.10", "-0.01"]
    assert [r["business_unit"] for r in read] == ["EMEA", "'=cmd"]
    assert list(read[0]) == columns


def test_a_list_without_provenance_columns_or_rows_says_so():
    preamble, read = parsed(as_csv("Nothing yet", [], ["month", "currency"], READ_AT))
    assert preamble == ["Nothing yet", "currency: none", "read at 2026-11-22T06:00:00+00:00"] and read == []


def test_a_line_break_in_published_text_stays_inside_the_preamble():
    text = as_csv("Certified cohort retention, business unit EMEA\nmonth,ending_mrr\r\n2026-01-01,1", [], ["month"],
                  READ_AT)
    preamble, read = parsed(text)
    assert preamble[0] == "Certified cohort retention, business unit EMEA month,ending_mrr 2026-01-01,1"
    assert text.splitlines()[2] == "month" and read == []
