"""Publish certified figures into viz, atomically: the bridge, its totals, cohort retention, and the customers,
lines and contracts behind them.

Per month, the rows shown are those of the latest certified run whose snapshot
date is not earlier than the one already shown, so a backfill never replaces a
complete month with a partial one. A month is replaced whole (every published
table, every business unit) or not at all, in one transaction: readers see the
old figures or the new ones, never a mix. The lines and contracts span months:
they are replaced whole whenever any month is, so they are those of the latest
certification that published.

Replacing writes only the rows that differ. The bridge, totals and cohorts
carry their certification in each row, so theirs are all written again; the
customer detail carries it through its month (the bridge total's) or its
publication (viz.customer_detail_certification), so a customer-month, line or
contract that did not change is left as it is: a twice-daily run no longer
rewrites every customer-month of the org. The rows shown and the rows
certified are compared once, on their key (sql/publishing/changed_rows.sql):
the keys whose rows change are removed where shown and copied where
certified.

Most customers' detail is what was published before, and comparing every
row to find that out was most of a twice-daily publication (at 1,000,000
lines, 3.4 million customer-months compared). So while viz shows exactly the
mart's months, publishing records each customer's published detail by the
digest of the mart rows it copied (viz.customer_detail_digest), and the next
publication that again shows exactly the mart's months compares row by row
only the customers whose certified digest (check 4's proof) differs from the
recorded one. It does not take the proofs on trust: the mart's own digests of
every customer, made beside the writes for the fingerprint, must equal the
recorded digest of every customer it left alone, or every row is compared
after all. Otherwise (a backfill that leaves a month of another
certification shown, more than a quarter of the customers changed, nothing
recorded yet) every row is compared, as before.

A restatement (an operator's deliberate run) replaces every month it
certified whatever the snapshot dates shown, and withdraws published months
later than its own as-of month: the way to undo figures published by mistake
(a future as-of date, a defect since fixed), recorded in its certification.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql
from sqlalchemy import Numeric, Table

from revcert.certification.detail_proofs import proven_detail_digests
from revcert.certification.fingerprint import customer_detail_digests, detail_digests, figures_hash
from revcert.sqlfiles import load_sql
from revcert.warehouse.bulk_writes import indexes_built_after
from revcert.warehouse.connection import beside
from revcert.warehouse.schema import (
    CUSTOMER_DETAIL,
    PUBLISHED_BY_MONTH,
    PUBLISHED_FROM_MART,
    column_names,
    key_names,
    viz_customer_detail_certification,
    viz_customer_detail_digest,
)

log = logging.getLogger(__name__)


class UncertifiedFigures(RuntimeError):
    """The figures about to be published are not the ones certified, or are not publishable."""


@dataclass(frozen=True)
class PublishResult:
    """What a publication changed. `customers_compared`: the customers whose detail was compared row by row, or
    None when every row of the months replaced was (or no month was)."""

    months_replaced: list[date]
    months_withdrawn: list[date]
    rows_written: int
    rows_removed: int
    customers_compared: int | None = None


STAMP = ("certification_id", "certified_at")


def _compared(alias: str, table: Table) -> list[sql.Composable]:
    """A published row's columns as compared with the incoming one: a rate of unstated scale as its text, since
    1.1 and 1.10 are equal numbers but not the same published figure."""
    return [sql.SQL("{}::text").format(sql.Identifier(alias, column.name))
            if isinstance(column.type, Numeric) and column.type.scale is None else sql.Identifier(alias, column.name)
            for column in table.columns if column.name not in STAMP]


def _key_match(left: str, right: str, table: Table) -> sql.Composable:
    return sql.SQL(" and ").join(sql.SQL("{} = {}").format(sql.Identifier(left, key), sql.Identifier(right, key))
                                 for key in key_names(table))


_DETAIL = [viz for viz, mart in PUBLISHED_FROM_MART.items() if mart in CUSTOMER_DETAIL]


def _replaced_rows(viz_table: Table, customers: list[str] | None) -> sql.Composable:
    """Which rows of a table (named `figures`) a publication replaces: the rows of `customers`, or if None those
    of the replaced months (all of them for the lines and contracts). Customers are named only when every month
    is replaced (`_Plan.customers`), so their months need no naming: the planner then reads their rows by the
    customers' index."""
    if customers is not None:
        return sql.SQL("{} = any(%(customers)s)").format(sql.Identifier("figures", "customer_id"))
    if viz_table in PUBLISHED_BY_MONTH:
        return sql.SQL("{} = any(%(months)s)").format(sql.Identifier("figures", "month"))
    return sql.SQL("true")


def _publishing_statements(viz_table: Table, mart_table: Table, customers: list[str] | None = None
                           ) -> tuple[sql.Composed, ...]:
    """The statements that make `viz_table` hold `mart_table`'s certified rows (of the replaced months, or all;
    of `customers` only, unless None): find the keys whose rows change, remove those shown, then copy those
    certified. A detail table carries no stamp of its own, so its unchanged rows are neither removed nor written
    again.

    One comparison (a full join on the key) names both sides' changes. Before, removing the rows shown but not
    certified (`except`) and copying the rows certified but not shown (an anti join) each set every row against
    every row: on a day's first run at 1,000,000 lines, 3.4 million customer-months a side, 13 to 22 s and 13 to
    21 s. The one comparison takes 7 to 10 s, and removing and copying the 98,385 rows that changed, by key, 4 to
    9 s."""
    stamped = STAMP[0] in column_names(viz_table)
    certification_stamp = [sql.Identifier("certification", name) for name in STAMP] if stamped else []
    shown_stamp = [sql.Identifier("figures", name) for name in STAMP] if stamped else []
    names = [name for name in column_names(viz_table) if name not in STAMP]
    keys = key_names(viz_table)
    common = {"viz_table": sql.Identifier(viz_table.schema, viz_table.name),
              "mart_table": sql.Identifier(mart_table.schema, mart_table.name)}
    find = sql.SQL("create temp table changed_rows on commit drop as {}").format(sql.SQL(
        load_sql("publishing", "changed_rows")).format(
        keys=sql.SQL(", ").join(sql.Identifier("figures", key) for key in keys),
        incoming=sql.SQL(", ").join([*_compared("figures", viz_table), *certification_stamp]),
        shown=sql.SQL(", ").join([*_compared("figures", viz_table), *shown_stamp]),
        either_key=sql.SQL(", ").join(sql.SQL("coalesce({}, {}) as {}").format(
            sql.Identifier("incoming", key), sql.Identifier("shown", key), sql.Identifier(key)) for key in keys),
        matching_key=_key_match("incoming", "shown", viz_table), rows=_replaced_rows(viz_table, customers),
        **common))
    unpublish = sql.SQL(load_sql("publishing", "unpublish_changed_rows")).format(
        same_key=_key_match("published", "changed", viz_table), **common)
    publish = sql.SQL(load_sql("publishing", "publish_figures")).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, [*names, *(STAMP if stamped else ())])),
        figures=sql.SQL(", ").join([*(sql.Identifier("figures", name) for name in names), *certification_stamp]),
        changed_key=_key_match("figures", "changed", viz_table), **common)
    return find, unpublish, publish


def _replace(conn: psycopg.Connection, viz_table: Table, mart_table: Table, params: dict[str, object],
             customers: list[str] | None = None) -> tuple[int, int]:
    """Make `viz_table` hold `mart_table`'s certified rows (see `_publishing_statements`); returns (rows written,
    rows removed).

    Into a table that shows nothing yet (the first publication) every row is copied: its key and indexes are then
    built after the rows rather than maintained row by row (at 200,000 lines, the customer-months in 1.8 s
    instead of 7). Its readers wait for the commit instead of reading nothing; a table that shows figures is
    never held from its readers."""
    find, unpublish, publish = _publishing_statements(viz_table, mart_table, customers)
    shows_nothing = not conn.execute(sql.SQL("select exists (select from {})").format(
        sql.Identifier(viz_table.schema, viz_table.name))).fetchone()[0]
    conn.execute("drop table if exists pg_temp.changed_rows")
    conn.execute(find, {**params, "customers": customers})
    removed = conn.execute(unpublish).rowcount
    if not shows_nothing:
        return conn.execute(publish, params).rowcount, removed
    with indexes_built_after(conn, viz_table.schema, viz_table.name):
        return conn.execute(publish, params).rowcount, removed


def publish_certified_figures(conn: psycopg.Connection, certification_id: int, certified_hash: str, *,
                              latest_publishable: date, restate: bool = False,
                              after_writes: Callable[[psycopg.Connection], object] = lambda conn: None
                              ) -> PublishResult:
    """Publish the mart's figures under `certification_id`, in the caller's transaction.

    Args:
        conn: The warehouse, in the transaction that must also hold the lease.
        certification_id: A certification that passed.
        certified_hash: The fingerprint certification recorded for these figures.
        latest_publishable: No figure with a later snapshot date is published (today, in the business timezone).
        restate: Replace every certified month whatever is shown, and withdraw later months.
        after_writes: What reads the new figures in the same transaction (the metrics): it runs while the mart
            is fingerprinted, and again if the detail has to be compared row by row after all.

    Raises:
        UncertifiedFigures: the mart no longer holds the figures that were certified, or holds
            figures dated after `latest_publishable`. What was written is undone with the caller's
            transaction, which must then roll back.
    """
    for viz_table in (*PUBLISHED_FROM_MART, viz_customer_detail_certification, viz_customer_detail_digest):
        conn.execute(sql.SQL("lock table {} in exclusive mode").format(sql.Identifier(viz_table.schema,
                                                                                      viz_table.name)))
    # The mart stays as it is until the commit, so it is fingerprinted beside the writes, on another core, and
    # the writes are undone with the caller's transaction unless it is the mart that was certified.
    for mart_table in PUBLISHED_FROM_MART.values():
        conn.execute(sql.SQL("lock table {} in share mode").format(sql.Identifier(mart_table.schema,
                                                                                  mart_table.name)))
    with beside(conn) as other, ThreadPoolExecutor(1) as pool:
        fingerprint = pool.submit(_mart_fingerprint, other)
        plan = _plan(conn, certification_id, latest_publishable, restate)
        counts = [_write_figures(conn, plan), _write_detail(conn, plan, plan.customers)]
        after_writes(conn)
        current, mart_digests = fingerprint.result()
    if current != certified_hash:
        raise UncertifiedFigures(f"the mart's figures hash to {current[:12]}, the certified figures to "
                                 f"{certified_hash[:12]}: nothing published")
    customers = plan.customers
    if customers is not None and not _left_alone_as_recorded(plan, mart_digests):
        log.warning("The mart's detail of customers left alone is not what was recorded as published (a proof "
                    "older than the mart?): comparing every customer's rows")
        customers = None
        counts.append(_write_detail(conn, plan, customers))
        after_writes(conn)  # again: what it read first was not the detail published
    _record_published_detail(conn, plan, customers, mart_digests)
    return PublishResult(plan.months, plan.withdrawn, sum(written for written, _ in counts),
                         sum(removed for _, removed in counts), None if customers is None else len(customers))


def _mart_fingerprint(conn: psycopg.Connection) -> tuple[str, dict[str, bytes]]:
    """The mart's fingerprint, and each customer's digest of its detail (the rows are hashed once for both)."""
    by_table = detail_digests(conn)
    return figures_hash(conn, by_table), customer_detail_digests(by_table)


@dataclass(frozen=True)
class _Plan:
    """What a publication replaces.

    Attributes:
        certification_id: The certification published.
        months: The months replaced; withdrawn: the months withdrawn.
        shows_mart_months: Afterwards viz shows exactly the mart's months (all of them replaced, no other left).
        recorded: Each customer's published detail digest (viz.customer_detail_digest); empty unless
            `shows_mart_months` (the record is then of no use).
        customers: The customers whose detail is compared row by row; None, every customer's.
    """

    certification_id: int
    months: list[date]
    withdrawn: list[date]
    shows_mart_months: bool
    recorded: dict[str, bytes]
    customers: list[str] | None

    @property
    def params(self) -> dict[str, object]:
        """The publishing statements' parameters."""
        return {"certification_id": self.certification_id, "months": self.months}


def _plan(conn: psycopg.Connection, certification_id: int, latest_publishable: date, restate: bool) -> _Plan:
    """The months replaced and withdrawn, and whose detail is compared (see `_customers_to_compare`)."""
    latest = conn.execute("select max(snapshot_date) from mart.mart_mrr_bridge_total").fetchone()[0]
    if latest is not None and latest > latest_publishable:
        raise UncertifiedFigures(f"the figures run to {latest}, after today ({latest_publishable}): a snapshot "
                                 "in the future is never published")
    months = [row[0] for row in conn.execute(load_sql("publishing", "replaced_months"),
                                             {"certification_id": certification_id, "restate": restate})]
    withdrawn = [row[0] for row in conn.execute(load_sql("publishing", "withdrawn_months"),
                                                {"certification_id": certification_id})] if restate else []
    shown = {row[0] for row in conn.execute("select month from viz.mrr_bridge_total")}
    mart_months = {row[0] for row in conn.execute("select month from mart.mart_mrr_bridge_total")}
    shows_mart_months = bool(months) and set(months) == mart_months and shown - set(withdrawn) <= mart_months
    recorded = dict(conn.execute("select customer_id, detail_digest from viz.customer_detail_digest").fetchall()
                    ) if shows_mart_months else {}
    return _Plan(certification_id, months, withdrawn, shows_mart_months, recorded,
                 _customers_to_compare(conn, recorded) if recorded else None)


def _customers_to_compare(conn: psycopg.Connection, recorded: dict[str, bytes]) -> list[str] | None:
    """The customers whose certified detail digest (check 4's proof for the mart's build) differs from the one
    recorded as published; None when that is more than a quarter of them. The quarter is the mart's threshold
    (methodology.mart.too_many_changed), not measured here: naming many customers reads their rows by index."""
    built = conn.execute("select as_of_date, renewal_grace_days from mart.mart_build").fetchone()
    certified = proven_detail_digests(conn, *built) if built else {}
    changed = sorted(customer_id for customer_id in recorded.keys() | certified.keys()
                     if recorded.get(customer_id) != certified.get(customer_id))
    return None if len(changed) * 4 > max(len(recorded), len(certified)) else changed


def _left_alone_as_recorded(plan: _Plan, mart_digests: dict[str, bytes]) -> bool:
    """Every customer whose detail was not compared has the mart detail its published one was recorded as."""
    left_alone = (plan.recorded.keys() | mart_digests.keys()) - set(plan.customers or ())
    return all(plan.recorded.get(customer_id) == mart_digests.get(customer_id) for customer_id in left_alone)


def _write_figures(conn: psycopg.Connection, plan: _Plan) -> tuple[int, int]:
    """The months withdrawn, and the bridge, its totals and cohort retention of the months replaced (every row:
    each carries its certification). Returns (rows written, rows removed)."""
    removed = written = 0
    for viz_table, mart_table in PUBLISHED_BY_MONTH.items():
        removed += conn.execute(sql.SQL("delete from {} where month = any(%s)").format(
            sql.Identifier(viz_table.schema, viz_table.name)), [plan.withdrawn]).rowcount
        if viz_table not in _DETAIL:
            more_written, more_removed = _replace(conn, viz_table, mart_table, plan.params)
            written, removed = written + more_written, removed + more_removed
    if plan.months:
        conn.execute("delete from viz.customer_detail_certification")
        conn.execute(load_sql("publishing", "publish_detail_certification"), plan.params)
    return written, removed


def _write_detail(conn: psycopg.Connection, plan: _Plan, customers: list[str] | None) -> tuple[int, int]:
    """The customer detail of the months replaced, and the lines and contracts if any month is: the rows of
    `customers`, or every row if None. Returns (rows written, rows removed)."""
    removed = written = 0
    if not plan.months:
        return written, removed
    for viz_table in _DETAIL:
        more_written, more_removed = _replace(conn, viz_table, PUBLISHED_FROM_MART[viz_table], plan.params, customers)
        written, removed = written + more_written, removed + more_removed
    return written, removed


def _record_published_detail(conn: psycopg.Connection, plan: _Plan, customers: list[str] | None,
                             mart_digests: dict[str, bytes]) -> None:
    """Record each customer's published detail by its mart digest while viz shows exactly the mart's months;
    otherwise record nothing (a later publication then compares every row)."""
    if not (plan.months or plan.withdrawn):
        return
    if not plan.shows_mart_months or customers is None:
        conn.execute("delete from viz.customer_detail_digest")
    else:
        conn.execute("delete from viz.customer_detail_digest where customer_id = any(%s)", [customers])
    if plan.shows_mart_months:
        with conn.cursor().copy("copy viz.customer_detail_digest (customer_id, detail_digest) from stdin") as copy:
            for customer_id in (mart_digests if customers is None else customers):
                if customer_id in mart_digests:
                    copy.write_row((customer_id, mart_digests[customer_id]))
