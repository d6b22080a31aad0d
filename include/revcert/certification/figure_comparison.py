"""Check 4's comparison: every published mart table against the independent derivation, to the cent."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Table

from revcert.certification.independent_derivation import DerivedFigures
from revcert.warehouse.schema import PUBLISHED_FROM_MART, column_names, key_names


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


def read_mart_table(conn: psycopg.Connection, table: Table) -> dict[tuple, dict[str, Any]]:
    """A published mart table, row by row keyed by its primary key."""
    keys = key_names(table)
    cursor = conn.execute(sql.SQL("select {} from {} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, column_names(table))), sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(map(sql.Identifier, keys))))
    names = [column.name for column in cursor.description]
    rows = {}
    for values in cursor:
        row = dict(zip(names, values))
        rows[tuple(row.pop(key) for key in keys)] = row
    return rows


def read_mart_figures(conn: psycopg.Connection) -> dict[str, dict[tuple, dict[str, Any]]]:
    return {mart.name: read_mart_table(conn, mart) for mart in PUBLISHED_FROM_MART.values()}


def compare_figures(mart: dict[str, dict[tuple, dict[str, Any]]], derived: DerivedFigures) -> list[FigureDifference]:
    """Every figure that differs, and every row that only one side has, table by table."""
    differences = []
    expected = derived.by_mart_table()
    for table in PUBLISHED_FROM_MART.values():
        ours, theirs = mart.get(table.name, {}), expected[table.name]
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
