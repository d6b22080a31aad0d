"""Check 4 writes the derivation's rows as PostgreSQL writes the mart's, and hashes them as the server does: equal
digests only for equal rows, and any text it writes otherwise only sends a customer to the figure-by-figure
comparison."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from revcert.certification import figure_comparison, independent_derivation
from revcert.certification.figure_comparison import DetailTable, compare_with_mart
from revcert.certification.independent_derivation import read_staging
from revcert.certification.row_text import RowTexts, value_text
from revcert.methodology.mart import build_mart
from revcert.settings import Settings
from revcert.warehouse.schema import mart_customer_month
from tests.methodology.golden_cases import as_of_date, currency

pytestmark = pytest.mark.integration

D = Decimal
TEXTS = ["plain", "", "a,b", "two words", 'quote"d', "back\\slash", "(paren)", "tab\tand\nnewline", "NULL",
         "null", "{braces}", "ünïcode", "no\u00a0break", "trailing ", None]
AMOUNTS = [D("0.00"), D("-0.05"), D("1.10"), D("1E+2"), D("0.000001"), D("12345678901234567.89"),
           D("-1234.5")]
DATES = [date(2026, 2, 28), date(999, 1, 1), date(9999, 12, 31), None]
ARRAYS = [[], ["a"], ["a", "b"], ["", "NULL", "nUlL", "x y", 'q"', "b\\", "{x}", "a,b", None], None]


def rows() -> list[tuple]:
    count = max(map(len, (TEXTS, AMOUNTS, DATES, ARRAYS)))
    return [(TEXTS[i % len(TEXTS)], AMOUNTS[i % len(AMOUNTS)], DATES[i % len(DATES)], [True, False, None][i % 3],
             ARRAYS[i % len(ARRAYS)]) for i in range(count)]


def test_rows_are_written_and_hashed_as_the_server_writes_and_hashes_them(warehouse_url):
    texts = RowTexts([False, False, False, False, True])
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("set local datestyle = 'ISO, YMD'")
        conn.execute("create temporary table written (position int, t text, n numeric, d date, b boolean, "
                     "a text[])")
        for position, row in enumerate(rows()):
            conn.execute("insert into written values (%s, %s, %s, %s, %s, %s)", [position, *row])
        servers = [line for line, in conn.execute("select row(t, n, d, b, a)::text from written order by position")]
        digest, = conn.execute("select sha256(convert_to(string_agg(row(t, n, d, b, a)::text, E'\\n' "
                               "order by position), 'UTF8')) from written").fetchone()
    assert [texts.row_text(row) for row in rows()] == servers
    assert texts.digest(rows()) == digest
    # Each column keeps its own texts: the boolean True and the amount 1, equal in Python, are written apart.
    both = RowTexts([False, False])
    assert [both.row_text((True, D(1))), both.row_text((False, D(0))), both.row_text((True, D(0)))] == [
        "(t,1)", "(f,0)", "(t,0)"]
    # Equal amounts share the text kept first, which denotes the same value (the server would write 1.1).
    assert [texts.row_text(("x", D(amount), None, None, None)) for amount in ("1.10", "1.1")] == ["(x,1.10,,,)"] * 2


def test_a_value_the_server_writes_otherwise_never_matches_and_an_unknown_type_is_refused():
    # The server has no negative zero: Python's "-0.00" can only differ from the mart's text, never equal another.
    assert value_text(D("-0.00")) == "-0.00"
    with pytest.raises(TypeError, match="no PostgreSQL text for a float"):
        value_text(1.5)


def test_equal_figures_in_other_texts_are_read_and_compared_figure_by_figure(warehouse_url):
    case = currency()
    as_of, grace = as_of_date(case), Settings().renewal_grace_days
    with psycopg.connect(warehouse_url) as conn:
        case.org.write(conn)
        build_mart(conn, as_of, [])
        assert compare_with_mart(conn, read_staging(conn), as_of, grace, []).customers_read == 0
        # The same rates at another scale: every line's text changes, not its value.
        conn.execute("update mart.mart_customer_line set conversion_rate = conversion_rate + 0.000000")
        comparison = compare_with_mart(conn, read_staging(conn), as_of, grace, [])
        customers = conn.execute("select count(distinct customer_id) from mart.mart_customer_line").fetchone()[0]
        assert (comparison.differences, comparison.customers_read) == ([], customers)
        # A cent does change a value: named.
        conn.execute("update mart.mart_customer_line set line_mrr = line_mrr + 0.01 where subscription_line_id = "
                     "(select min(subscription_line_id) from mart.mart_customer_line)")
        differences = compare_with_mart(conn, read_staging(conn), as_of, grace, []).differences
        assert [(d.table, d.figure, d.difference) for d in differences if d.table == "mart_customer_line"] == [
            ("mart_customer_line", "line_mrr", D("0.01"))]


def test_check_4_refuses_a_table_whose_columns_are_not_the_derivations(monkeypatch):
    columns = list(independent_derivation.DETAIL_COLUMNS["mart_customer_month"])
    columns[6], columns[8] = columns[8], columns[6]  # starting_mrr and movement_amount swapped
    monkeypatch.setitem(figure_comparison.DETAIL_COLUMNS, "mart_customer_month", tuple(columns))
    with pytest.raises(RuntimeError, match="mart_customer_month has the columns .*check 4 cannot compare them"):
        DetailTable(mart_customer_month)
