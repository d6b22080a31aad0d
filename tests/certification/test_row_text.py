"""Check 4 writes the derivation's rows as PostgreSQL writes the mart's, and hashes them as the server does: equal
digests only for equal rows, and any text it writes otherwise only sends a customer to the figure-by-figure
comparison."""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from revcert.certification import figure_comparison
from revcert.certification.figure_comparison import DetailTable, compare_with_mart
from revcert.certification.fingerprint import code_point_order
from revcert.certification.independent_derivation import read_staging
from revcert.certification.row_text import RowTexts, value_text
from revcert.methodology.mart import build_mart
from revcert.settings import Settings
from revcert.warehouse.schema import mart_customer_line, mart_customer_month
from tests.methodology.golden_cases import as_of_date, currency

D = Decimal
# Every character the row and array texts treat apart, and a few that they do not.
SPECIAL = ' \t\n\r\v\f"\\(),{}aZ\u00a0é'
TEXTS = ["plain", "", "a,b", "two words", 'quote"d', "back\\slash", "(paren)", "(", ")", "tab\tand\nnewline",
         "\r\v\f", "   ", "NULL", "null", "{braces}", "ünïcode", "no\u00a0break", "trailing ", None]
AMOUNTS = [D("0.00"), D("-0.05"), D("1.10"), D("1E+2"), D("1.00E+3"), D("1E-8"), D("0.000001"),
           D("12345678901234567.89"), D("-1234.5")]
DATES = [date(2026, 2, 28), date(999, 1, 1), date(9999, 12, 31), None]
ARRAYS = [[], ["a"], ["a", "b"], ["a b"], ["", "NULL", "nUlL", "x y", 'q"', "b\\", "{x}", "a,b", None],
          ["(", ")", "tab\there", "new\nline", "\v"], None]
COLUMNS = "(t text, n numeric, d date, b boolean, a text[])"


def rows() -> list[tuple]:
    texts = TEXTS + ["".join(random.Random(seed).choices(SPECIAL, k=seed % 7)) for seed in range(200)]
    return [(texts[i], AMOUNTS[i % len(AMOUNTS)], DATES[i % len(DATES)], [True, False, None][i % 3],
             ARRAYS[i % len(ARRAYS)]) for i in range(len(texts))]


@pytest.mark.integration
def test_rows_are_written_and_hashed_as_the_server_writes_and_hashes_them_and_read_back_as_written(warehouse_url):
    texts = RowTexts([False, False, False, False, True])
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("set local datestyle = 'ISO, YMD'")
        conn.execute(f"create type written_row as {COLUMNS}")
        conn.execute(f"create temporary table written (position int, {COLUMNS[1:]}")
        with conn.cursor().copy("copy written from stdin") as copy:
            for position, row in enumerate(rows()):
                copy.write_row((position, *row))
        servers = [line for line, in conn.execute("select row(t, n, d, b, a)::text from written order by position")]
        digest, = conn.execute("select sha256(convert_to(string_agg(row(t, n, d, b, a)::text, E'\\n' "
                               "order by position), 'UTF8')) from written").fetchone()
        # What soundness rests on: each text reads back as the very values it was written from.
        read_back = [conn.execute("select %s::written_row is not distinct from row(%s::text, %s::numeric, %s::date, "
                                  "%s::boolean, %s::text[])::written_row", [texts.row_text(row), *row]).fetchone()[0]
                     for row in rows()]
    assert [texts.row_text(row) for row in rows()] == servers
    assert texts.digest(rows()) == digest
    assert all(read_back)


def test_each_column_keeps_its_own_texts_and_a_row_of_another_width_is_refused():
    both = RowTexts([False, False])
    # True and the amount 1 are equal in Python: in their own columns they are written apart.
    assert [both.row_text((True, D(1))), both.row_text((False, D(0))), both.row_text((True, D(0)))] == [
        "(t,1)", "(f,0)", "(t,0)"]
    # Equal amounts share the text kept first, which denotes the same value (the server would write 1.1).
    assert [both.row_text((D(amount), None)) for amount in ("1.10", "1.1")] == ["(1.10,)"] * 2
    with pytest.raises(ValueError, match="a row of 3 values for 2 columns"):
        both.row_text(("a", D(1), "one too many"))


def test_a_value_the_server_writes_otherwise_never_matches_and_an_unknown_type_is_refused():
    # The server has no negative zero: Python's "-0.00" can only differ from the mart's text, never equal another.
    assert value_text(D("-0.00")) == "-0.00"
    with pytest.raises(TypeError, match="no PostgreSQL text for a float"):
        value_text(1.5)
    with pytest.raises(TypeError, match="no exact text for the amount NaN"):
        value_text(D("NaN"))


def test_the_server_orders_a_customers_rows_in_code_points_as_python_does():
    ordered = code_point_order(mart_customer_line, ["customer_id", "subscription_line_id"]).as_string(None)
    assert ordered == '"customer_id" collate "C", "subscription_line_id" collate "C"'
    assert code_point_order(mart_customer_month, ["month"]).as_string(None) == '"month"'
    assert sorted(["a1", "B2", "_3"]) == ["B2", "_3", "a1"]  # a natural-language collation would put a1 first


@pytest.mark.integration
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
        staged = read_staging(conn)
        differences = compare_with_mart(conn, staged, as_of, grace, []).differences
        assert [(d.table, d.figure, d.difference) for d in differences if d.table == "mart_customer_line"] == [
            ("mart_customer_line", "line_mrr", D("0.01"))]
    with psycopg.connect(warehouse_url, autocommit=True) as conn, pytest.raises(ValueError, match="autocommit"):
        compare_with_mart(conn, staged, as_of, grace, [])


def test_check_4_refuses_a_table_whose_columns_are_not_the_derivations(monkeypatch):
    columns = list(figure_comparison.DETAIL_COLUMNS["mart_customer_month"])
    columns[6], columns[8] = columns[8], columns[6]  # starting_mrr and movement_amount swapped
    monkeypatch.setitem(figure_comparison.DETAIL_COLUMNS, "mart_customer_month", tuple(columns))
    with pytest.raises(RuntimeError, match="mart_customer_month has the columns .*check 4 cannot compare them"):
        DetailTable(mart_customer_month)
