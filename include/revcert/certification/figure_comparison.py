"""Check 4's comparison: every published mart table against the independent derivation, to the cent.

The bridge and cohorts are small and compared whole. The detail behind them
(customer-months, lines, contracts) grows with the org: it is compared one
customer at a time as the derivation produces it, against the mart's rows read
in the same order through server-side cursors, so neither side is ever held
whole in memory.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import count
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Table

from revcert.certification.independent_derivation import (
    CustomerDetail,
    DerivedFigures,
    Override,
    StagedOrg,
    derive_figures,
)
from revcert.warehouse.schema import CUSTOMER_DETAIL, PUBLISHED_FROM_MART, column_names, key_names

AGGREGATES = [table for table in PUBLISHED_FROM_MART.values() if table not in CUSTOMER_DETAIL]


@dataclass(frozen=True)
class FigureDifference:
    """One figure of one row on which the two implementations disagree (None: the row is missing on that side)."""

    table: str
    where: dict[str, Any]
    figure: str
    mart: Any
    derived: Any

    @property
    def difference(self) -> Any:
        try:
            return self.mart - self.derived
        except TypeError:
            return None


def _select(table: Table, order: list[str]) -> sql.Composed:
    return sql.SQL("select {} from {} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, column_names(table))), sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(sql.SQL("{} collate \"C\"").format(sql.Identifier(name))
                           if table.c[name].type.python_type is str else sql.Identifier(name) for name in order))


def read_mart_table(conn: psycopg.Connection, table: Table) -> dict[tuple, dict[str, Any]]:
    """A published mart table, row by row keyed by its primary key."""
    keys = key_names(table)
    cursor = conn.execute(_select(table, keys))
    names = [column.name for column in cursor.description]
    rows = {}
    for values in cursor:
        row = dict(zip(names, values))
        rows[tuple(row.pop(key) for key in keys)] = row
    return rows


def read_mart_figures(conn: psycopg.Connection) -> dict[str, dict[tuple, dict[str, Any]]]:
    """The bridge, its totals and cohort retention (the detail is read per customer: `compare_with_mart`)."""
    return {mart.name: read_mart_table(conn, mart) for mart in AGGREGATES}


def table_differences(table: Table, ours: dict[tuple, dict[str, Any]], theirs: dict[tuple, dict[str, Any]]
                      ) -> list[FigureDifference]:
    """Every figure of `table` that differs, and every row that only one side has."""
    differences = []
    keys = key_names(table)
    figures = [name for name in column_names(table) if name not in keys]
    for key in sorted(set(ours) | set(theirs)):
        for figure in figures:
            mart_value = ours[key].get(figure) if key in ours else None
            derived_value = theirs[key].get(figure) if key in theirs else None
            if mart_value != derived_value or (key in ours) != (key in theirs):
                differences.append(FigureDifference(table.name, dict(zip(keys, key)), figure, mart_value,
                                                      derived_value))
    return differences


def compare_figures(mart: dict[str, dict[tuple, dict[str, Any]]], derived: DerivedFigures) -> list[FigureDifference]:
    """The bridge, its totals and cohort retention, table by table."""
    expected = derived.by_mart_table()
    return [difference for table in AGGREGATES
            for difference in table_differences(table, mart.get(table.name, {}), expected[table.name])]


class CustomerRows:
    """A mart detail table read in customer order (code points, as the derivation orders them), one customer's
    rows at a time, through a server-side cursor."""

    _names = count()

    def __init__(self, conn: psycopg.Connection, table: Table) -> None:
        self.table, self.keys = table, key_names(table)
        cursor = conn.cursor(name=f"mart_detail_{next(self._names)}")
        cursor.itersize = 5000
        cursor.execute(_select(table, ["customer_id", *self.keys]))
        self._names_of = [column.name for column in cursor.description]
        self._rows: Iterator[tuple] = iter(cursor)
        self._next = next(self._rows, None)

    def _keyed(self, values: tuple) -> tuple[tuple, dict[str, Any]]:
        row = dict(zip(self._names_of, values))
        return tuple(row.pop(key) for key in self.keys), row

    def _customer(self) -> str | None:
        return None if self._next is None else self._next[self._names_of.index("customer_id")]

    def until(self, customer_id: str | None) -> tuple[dict[tuple, dict[str, Any]], dict[tuple, dict[str, Any]]]:
        """(rows of customers before `customer_id`, which the derivation has none of; rows of `customer_id`).
        None: every row left."""
        before, own = {}, {}
        while self._next is not None and (customer_id is None or self._customer() <= customer_id):
            target = own if self._customer() == customer_id else before
            key, row = self._keyed(self._next)
            target[key] = row
            self._next = next(self._rows, None)
        return before, own


def compare_with_mart(conn: psycopg.Connection, org: StagedOrg, as_of: date, renewal_grace_limit: int,
                      overrides: list[Override]) -> tuple[list[FigureDifference], int]:
    """Derive every published figure and compare it with the mart's; (the differences, rows compared)."""
    detail_tables = {table.name: CustomerRows(conn, table) for table in CUSTOMER_DETAIL}
    differences: list[FigureDifference] = []
    compared = [0]

    def compare_customer(detail: CustomerDetail) -> None:
        for name, derived_rows in detail.by_mart_table().items():
            mart_rows = detail_tables[name]
            before, own = mart_rows.until(detail.customer_id)
            differences.extend(table_differences(mart_rows.table, before, {}))
            differences.extend(table_differences(mart_rows.table, own, derived_rows))
            compared[0] += len(derived_rows)

    derived = derive_figures(org, as_of, renewal_grace_limit, overrides, compare_customer)
    for mart_rows in detail_tables.values():
        differences.extend(table_differences(mart_rows.table, mart_rows.until(None)[0], {}))
    differences.extend(compare_figures(read_mart_figures(conn), derived))
    compared[0] += sum(len(rows) for rows in derived.by_mart_table().values())
    return differences, compared[0]
