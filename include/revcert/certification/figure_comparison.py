"""Check 4's comparison: every published mart table against the independent derivation, to the cent.

The bridge and cohorts are small and compared whole. The detail behind them
(customer-months, lines, contracts) grows with the org: it is compared one
customer at a time as the derivation produces it, against the mart's rows read
in the same order through server-side cursors, so neither side is ever held
whole in memory. A customer's rows are first compared whole, as the mart's rows
are read (one list comparison); only a customer on which they differ is gone
through figure by figure.

With proofs (revcert.certification.detail_proofs), a customer whose inputs
and published detail are those an earlier row-by-row comparison found equal is not
compared again: the same inputs give the same detail, and the rows are the
ones that equalled it. Every other customer is compared as above, its rows
read by customer id in batches. Every customer is still derived and summed:
the bridge and cohorts are always compared whole.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import count
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Table

from revcert.certification.detail_proofs import DetailProofs
from revcert.certification.fingerprint import EVERY_ROW
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


def _select(table: Table, order: list[str], columns: list[str], where: sql.Composable = EVERY_ROW
            ) -> sql.Composed:
    return sql.SQL("select {} from {} where {} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table.schema, table.name), where,
        sql.SQL(", ").join(sql.SQL("{} collate \"C\"").format(sql.Identifier(name))
                           if table.c[name].type.python_type is str else sql.Identifier(name) for name in order))


def read_mart_table(conn: psycopg.Connection, table: Table) -> dict[tuple, dict[str, Any]]:
    """A published mart table, row by row keyed by its primary key."""
    keys = key_names(table)
    cursor = conn.execute(_select(table, keys, column_names(table)))
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


_customer_of = itemgetter(0)


class DetailTable:
    """A mart detail table's rows as read: customer, key, figures; in customer order (code points, as the
    derivation orders them), then key order."""

    def __init__(self, table: Table) -> None:
        self.table, self.keys = table, key_names(table)
        self.figures = [name for name in column_names(table) if name not in self.keys]
        self.figures_of: Callable[[dict[str, Any]], tuple] = itemgetter(*self.figures)

    def select(self, where: sql.Composable = EVERY_ROW) -> sql.Composed:
        return _select(self.table, ["customer_id", *self.keys], ["customer_id", *self.keys, *self.figures], where)

    def as_read(self, customer_id: str, derived: dict[tuple, dict[str, Any]]) -> list[tuple] | None:
        """A customer's derived rows as this table's rows are read, in the same order (None: a figure is missing
        from them, which the figure-by-figure comparison names)."""
        try:
            return [(customer_id, *key, *self.figures_of(derived[key])) for key in sorted(derived)]
        except KeyError:
            return None

    def keyed(self, rows: list[tuple]) -> dict[tuple, dict[str, Any]]:
        """Rows as read, keyed like the derivation's rows."""
        key_end = 1 + len(self.keys)
        return {row[1:key_end]: dict(zip(self.figures, row[key_end:])) for row in rows}

    def differences(self, customer_id: str, own: list[tuple], derived: dict[tuple, dict[str, Any]]
                    ) -> list[FigureDifference]:
        """Equal as read, in order, every figure: none; else each figure that differs."""
        return self.held_differences(own, self.held(customer_id, derived))

    def held(self, customer_id: str, derived: dict[tuple, dict[str, Any]]) -> list[tuple] | dict[tuple, Any]:
        """A customer's derived rows kept until its mart rows are read: as read (a fraction of the memory of the
        rows as dicts), or as derived if a figure is missing from them."""
        as_read = self.as_read(customer_id, derived)
        return derived if as_read is None else as_read

    def held_differences(self, own: list[tuple], held: list[tuple] | dict[tuple, Any]) -> list[FigureDifference]:
        """`differences` for rows kept by `held`."""
        if isinstance(held, list):
            if own == held:
                return []
            held = self.keyed(held)
        return table_differences(self.table, self.keyed(own), held)


class CustomerRows(DetailTable):
    """A mart detail table (the rows of `customer_ids` only, if given) read in customer order, one customer's
    rows at a time, through a server-side cursor."""

    _names = count()
    rows_per_fetch = 10_000

    def __init__(self, conn: psycopg.Connection, table: Table, customer_ids: list[str] | None = None) -> None:
        super().__init__(table)
        self._cursor = conn.cursor(name=f"mart_detail_{next(self._names)}")
        if customer_ids is None:
            self._cursor.execute(self.select())
        else:
            self._cursor.execute(self.select(sql.SQL("customer_id = any(%s)")), [customer_ids])
        self._batch: list[tuple] = []
        self._at = 0

    def close(self) -> None:
        """Let the server go of the cursor (it would otherwise hold the table until the transaction ends)."""
        self._cursor.close()

    def until(self, customer_id: str | None) -> tuple[list[tuple], list[tuple]]:
        """(rows of customers before `customer_id`, which the derivation has none of; rows of `customer_id`), as
        read: customer, key, figures. None: every row left."""
        before: list[tuple] = []
        own: list[tuple] = []
        while True:
            if self._at == len(self._batch):
                self._batch, self._at = self._cursor.fetchmany(self.rows_per_fetch), 0
                if not self._batch:
                    return before, own
            batch, start = self._batch, self._at
            # Rows are in customer order: where this customer's rows begin and end is a binary search.
            if customer_id is None:
                first_own = end = len(batch)
            else:
                first_own = bisect.bisect_left(batch, customer_id, start, key=_customer_of)
                end = bisect.bisect_right(batch, customer_id, first_own, key=_customer_of)
            before += batch[start:first_own]
            own += batch[first_own:end]
            self._at = end
            if end < len(batch):
                return before, own



@dataclass
class Comparison:
    """Check 4's result: the differences, the rows compared, and how many customers were compared row by row
    (the others had proofs)."""

    differences: list[FigureDifference]
    rows_compared: int
    customers: int
    customers_compared: int


def compare_with_mart(conn: psycopg.Connection, org: StagedOrg, as_of: date, renewal_grace_limit: int,
                      overrides: list[Override], proofs: DetailProofs | None = None) -> Comparison:
    """Derive every published figure and compare it with the mart's: every customer's detail, or with `proofs`
    those it does not vouch for (and `proofs` learns what this comparison vouches for)."""
    proofs = proofs or DetailProofs.none()
    if proofs.scoped:
        differences, compared, derived = _compare_customers_without_proof(conn, org, as_of, renewal_grace_limit,
                                                                         overrides, proofs)
    else:
        differences, compared, derived = _compare_every_customer(conn, org, as_of, renewal_grace_limit, overrides,
                                                                 proofs)
    differences.extend(compare_figures(read_mart_figures(conn), derived))
    compared += sum(len(rows) for rows in derived.by_mart_table().values())
    return Comparison(differences, compared, len(proofs.inputs), len(proofs.compared))


def _compare_every_customer(conn: psycopg.Connection, org: StagedOrg, as_of: date, renewal_grace_limit: int,
                            overrides: list[Override], proofs: DetailProofs
                            ) -> tuple[list[FigureDifference], int, DerivedFigures]:
    """Each customer's detail against the mart's rows, read alongside in customer order."""
    detail_tables = {table.name: CustomerRows(conn, table) for table in CUSTOMER_DETAIL}
    differences: list[FigureDifference] = []
    compared = [0]

    def compare_customer(detail: CustomerDetail) -> None:
        proofs.note_derived(detail)
        for name, derived_rows in detail.by_mart_table().items():
            mart_rows = detail_tables[name]
            before, own = mart_rows.until(detail.customer_id)
            if before:
                differences.extend(table_differences(mart_rows.table, mart_rows.keyed(before), {}))
            differences.extend(mart_rows.differences(detail.customer_id, own, derived_rows))
            compared[0] += len(derived_rows)

    try:
        derived = derive_figures(org, as_of, renewal_grace_limit, overrides, compare_customer, basis=proofs.basis)
        for mart_rows in detail_tables.values():
            differences.extend(table_differences(mart_rows.table, mart_rows.keyed(mart_rows.until(None)[0]), {}))
    finally:
        for mart_rows in detail_tables.values():
            mart_rows.close()
    return differences, compared[0], derived


# Customers whose derived rows wait in memory for their mart rows, read for all of them in one pass.
CUSTOMERS_PER_READ = 10_000


def _compare_customers_without_proof(conn: psycopg.Connection, org: StagedOrg, as_of: date,
                                     renewal_grace_limit: int, overrides: list[Override], proofs: DetailProofs
                                     ) -> tuple[list[FigureDifference], int, DerivedFigures]:
    """The detail of the customers `proofs` does not vouch for against their mart rows, read by customer id;
    and the rows of any customer the mart has and the derivation does not."""
    detail_tables = [DetailTable(table) for table in CUSTOMER_DETAIL]
    differences: list[FigureDifference] = []
    pending: list[tuple[str, list]] = []  # customer, its rows per table as `held` keeps them
    compared = [0]

    def compare_pending() -> None:
        customer_ids = [customer_id for customer_id, _ in pending]
        for at, table in enumerate(CUSTOMER_DETAIL):
            mart_rows = CustomerRows(conn, table, customer_ids)
            try:
                for customer_id, held in pending:
                    differences.extend(mart_rows.held_differences(mart_rows.until(customer_id)[1], held[at]))
                    compared[0] += len(held[at])
            finally:
                mart_rows.close()
        pending.clear()

    def compare_customer(detail: CustomerDetail) -> None:
        proofs.note_derived(detail)
        if detail.derived:
            by_table = detail.by_mart_table()
            pending.append((detail.customer_id, [mart_rows.held(detail.customer_id, by_table[mart_rows.table.name])
                                                 for mart_rows in detail_tables]))
            if len(pending) == CUSTOMERS_PER_READ:
                compare_pending()

    derived = derive_figures(org, as_of, renewal_grace_limit, overrides, compare_customer, proofs.needs_comparison,
                             proofs.basis)
    compare_pending()
    if unknown := sorted(proofs.mart_customers - proofs.inputs.keys()):
        for table in CUSTOMER_DETAIL:
            mart_rows = CustomerRows(conn, table, unknown)
            try:
                differences.extend(table_differences(table, mart_rows.keyed(mart_rows.until(None)[0]), {}))
            finally:
                mart_rows.close()
    return differences, compared[0], derived
