"""Check 4's comparison: every published mart table against the independent derivation, to the cent.

The bridge and cohorts are small and compared whole. The detail behind them
(customer-months, lines, contracts) grows with the org: it is compared one
customer at a time as the derivation produces it, by digest. The server hashes
each customer's mart rows as their exact text (`fingerprint.customer_digests`);
the comparison hashes the customer's derived rows written the same way
(`row_text`). Equal texts are equal values, so equal digests are equal rows,
and no mart row has to travel to Python. A customer whose digests differ has
its mart rows read by customer id, in batches, and compared figure by figure,
which names every difference (or finds the rows equal, if only their texts
differed: an amount held as 1.1 against 1.10).

With proofs (revcert.certification.detail_proofs), a customer whose inputs
and published detail are those an earlier comparison found equal is not
compared again: the same inputs give the same detail, and the rows are the
ones that equalled it, and its part of the bridge and cohort sums is the one
in the proven total. The bridge and cohorts are always compared whole.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from itertools import count
from operator import itemgetter
from typing import Any, NamedTuple

import psycopg
from psycopg import sql
from sqlalchemy import ARRAY, Table

from revcert.certification.detail_proofs import DetailProofs, read_proofs
from revcert.certification.fingerprint import EVERY_ROW, code_point_order, combined_detail_digest, detail_digests
from revcert.certification.independent_derivation import (
    DETAIL_COLUMNS,
    CustomerDetail,
    DerivedFigures,
    Override,
    StagedOrg,
    derive_figures,
)
from revcert.certification.row_text import RowTexts
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
        code_point_order(table, order))


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
    """A mart detail table's rows as read: the customer, then the table's columns (its key first, as the
    derivation's rows are); in customer order (code points, as the derivation orders them), then key order."""

    def __init__(self, table: Table) -> None:
        self.table, self.keys, columns = table, key_names(table), column_names(table)
        if tuple(columns) != DETAIL_COLUMNS[table.name] or columns[:len(self.keys)] != self.keys:
            raise RuntimeError(f"{table.name} has the columns {', '.join(columns)}; the derivation's rows have "
                               f"{', '.join(DETAIL_COLUMNS[table.name])}, its key first: check 4 cannot compare them")
        self.figures = columns[len(self.keys):]
        self.texts = RowTexts([isinstance(column.type, ARRAY) for column in table.columns])

    def select(self, where: sql.Composable = EVERY_ROW) -> sql.Composed:
        return _select(self.table, ["customer_id", *self.keys], ["customer_id", *self.keys, *self.figures], where)

    def keyed(self, rows: list[tuple]) -> dict[tuple, dict[str, Any]]:
        """Rows as read, keyed by their key, their figures by name."""
        key_end = 1 + len(self.keys)
        return {row[1:key_end]: dict(zip(self.figures, row[key_end:])) for row in rows}

    def digest(self, rows: list[tuple]) -> bytes:
        """The digest the server would make of a customer's rows in this table if they were these."""
        return self.texts.digest(rows)

    @staticmethod
    def held(customer_id: str, rows: list[tuple]) -> list[tuple]:
        """A customer's derived rows as this table's rows are read, kept until its mart rows are."""
        return [(customer_id, *row) for row in rows]

    def held_differences(self, own: list[tuple], held: list[tuple]) -> list[FigureDifference]:
        """The differences between a customer's rows as read and as `held` keeps them: none if they are equal
        as read, in order; else each figure that differs."""
        if own == held:
            return []
        return table_differences(self.table, self.keyed(own), self.keyed(held))


class CustomerRows(DetailTable):
    """The rows of `customer_ids` in a mart detail table, read in customer order, one customer's rows at a
    time, through a server-side cursor."""

    _names = count()
    rows_per_fetch = 10_000

    def __init__(self, conn: psycopg.Connection, table: Table, customer_ids: list[str]) -> None:
        super().__init__(table)
        self._cursor = conn.cursor(name=f"mart_detail_{next(self._names)}")
        self._cursor.execute(self.select(sql.SQL("customer_id = any(%s)")), [customer_ids])
        self._batch: list[tuple] = []
        self._at = 0

    def __enter__(self) -> CustomerRows:
        return self

    def __exit__(self, *_: object) -> None:
        # Let the server go of the cursor (it would otherwise hold the table until the transaction ends).
        self._cursor.close()

    def rows_of(self, customer_id: str | None) -> list[tuple]:
        """The rows of `customer_id` as read (customer, key, figures); customers are asked for in order, and rows
        of customers not asked for are passed over. None: every row left."""
        own: list[tuple] = []
        while True:
            if self._at == len(self._batch):
                self._batch, self._at = self._cursor.fetchmany(self.rows_per_fetch), 0
                if not self._batch:
                    return own
            batch, start = self._batch, self._at
            # Rows are in customer order: where this customer's rows begin and end is a binary search.
            if customer_id is None:
                first_own, end = start, len(batch)
            else:
                first_own = bisect.bisect_left(batch, customer_id, start, key=_customer_of)
                end = bisect.bisect_right(batch, customer_id, first_own, key=_customer_of)
            own += batch[first_own:end]
            self._at = end
            if end < len(batch):
                return own


@dataclass
class Comparison:
    """Check 4's result: the differences, the rows compared, how many customers had detail, how many of them
    were compared (the others had proofs), and how many of those had their rows read (their digests differed)."""

    differences: list[FigureDifference]
    rows_compared: int
    customers: int
    customers_compared: int
    customers_read: int


def compare_with_mart(conn: psycopg.Connection, org: StagedOrg, as_of: date, renewal_grace_limit: int,
                      overrides: list[Override], proofs: DetailProofs | None = None, processes: int = 1
                      ) -> Comparison:
    """Derive every published figure and compare it with the mart's: every customer's detail, or with `proofs`
    those it does not vouch for (and `proofs` learns what this comparison vouches for). Without `proofs`, the
    mart's detail is hashed on `conn`, which sets its DateStyle to ISO for the rest of its transaction. The
    derivation may use up to `processes` processes (`derive_figures`)."""
    if proofs is None and conn.autocommit:
        raise ValueError("compare_with_mart hashes the mart and reads its rows in one transaction: give it a "
                         "connection that is not in autocommit")
    proofs = proofs or read_proofs(conn, as_of, renewal_grace_limit, scoped=False,
                                   mart_digests=lambda: detail_digests(conn))
    detail = _CustomerComparison(conn, proofs)
    # The mart's digests are waited for once the org is grouped: the customers are compared with them, in this
    # process or in a forked copy of it.
    derived = derive_figures(org, as_of, renewal_grace_limit, overrides, detail.take, proofs.needs_comparison,
                             proofs.basis, detail.summarise, lambda: proofs.mart_now, processes, proofs.proven)
    proofs.total = derived.total
    detail.finish()
    differences = detail.differences + compare_figures(read_mart_figures(conn), derived)
    compared = detail.rows_compared + sum(len(rows) for rows in derived.by_mart_table().values())
    return Comparison(differences, compared, len(proofs.inputs), len(proofs.compared), detail.customers_read)


class CustomerSummary(NamedTuple):
    """A customer's detail as the comparison keeps it: its inputs digest, whether its rows were made, how many,
    its part of the sums with them, and, if their digest differs from the mart's, the rows per detail table (as
    `DetailTable.held` keeps them)."""

    customer_id: str
    inputs_digest: bytes
    derived: bool
    rows: int
    contribution: str
    held: list[list[tuple]] | None


# Customers whose derived rows wait in memory for their mart rows, read for all of them in one pass.
CUSTOMERS_PER_READ = 10_000


class _CustomerComparison:
    """Each customer's derived detail against the mart's, by digest: its rows as the server writes them, hashed
    as the server hashed the mart's (`fingerprint.customer_digests`). Equal digests, equal rows. The customers
    whose digests differ have their mart rows read by customer id, in batches, and compared figure by figure;
    so are the rows of any customer the mart has and the derivation does not."""

    def __init__(self, conn: psycopg.Connection, proofs: DetailProofs) -> None:
        self.conn, self.proofs = conn, proofs
        self.tables = [DetailTable(table) for table in CUSTOMER_DETAIL]
        self.differences: list[FigureDifference] = []
        self.rows_compared = self.customers_read = 0
        self.pending: list[tuple[str, list]] = []  # customer, its rows per table as `held` keeps them

    def summarise(self, detail: CustomerDetail) -> CustomerSummary:
        """What the comparison keeps of a customer's detail: its rows only if their digest is not the mart's."""
        if not detail.derived:
            return CustomerSummary(detail.customer_id, detail.inputs_digest, False, 0, "", None)
        by_table = detail.by_mart_table()
        rows = sum(map(len, by_table.values()))
        if self._digest(by_table) == self.proofs.mart_now.get(detail.customer_id):
            return CustomerSummary(detail.customer_id, detail.inputs_digest, True, rows, detail.contribution, None)
        return CustomerSummary(detail.customer_id, detail.inputs_digest, True, rows, detail.contribution,
                               [table.held(detail.customer_id, by_table[table.table.name]) for table in self.tables])

    def take(self, summary: CustomerSummary) -> None:
        self.proofs.note_derived(summary.customer_id, summary.inputs_digest, summary.derived, summary.contribution)
        self.rows_compared += summary.rows
        if summary.held is not None:
            self.pending.append((summary.customer_id, summary.held))
            if len(self.pending) == CUSTOMERS_PER_READ:
                self._compare_pending()

    def _digest(self, by_table: dict[str, list[tuple]]) -> bytes:
        """The customer's digest over the detail tables as the server would make it of these rows."""
        return combined_detail_digest({table.table.name: table.digest(by_table[table.table.name])
                                       for table in self.tables if by_table[table.table.name]})

    def _compare_pending(self) -> None:
        customer_ids = [customer_id for customer_id, _ in self.pending]
        for at, table in enumerate(CUSTOMER_DETAIL):
            with CustomerRows(self.conn, table, customer_ids) as mart_rows:
                for customer_id, held in self.pending:
                    self.differences.extend(mart_rows.held_differences(mart_rows.rows_of(customer_id), held[at]))
        self.customers_read += len(self.pending)
        self.pending.clear()

    def finish(self) -> None:
        self._compare_pending()
        if unknown := sorted(self.proofs.mart_customers - self.proofs.inputs.keys()):
            for table in CUSTOMER_DETAIL:
                with CustomerRows(self.conn, table, unknown) as mart_rows:
                    self.differences.extend(table_differences(table, mart_rows.keyed(mart_rows.rows_of(None)), {}))
