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
rewrites every customer-month of the org.

A restatement (an operator's deliberate run) replaces every month it
certified whatever the snapshot dates shown, and withdraws published months
later than its own as-of month: the way to undo figures published by mistake
(a future as-of date, a defect since fixed), recorded in its certification.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql
from sqlalchemy import Numeric, Table

from revcert.certification.fingerprint import figures_hash
from revcert.sqlfiles import load_sql
from revcert.warehouse.connection import beside
from revcert.warehouse.schema import (
    PUBLISHED_BY_MONTH,
    PUBLISHED_FROM_MART,
    PUBLISHED_WHOLE,
    column_names,
    key_names,
    viz_customer_detail_certification,
)


class UncertifiedFigures(RuntimeError):
    """The figures about to be published are not the ones certified, or are not publishable."""


@dataclass(frozen=True)
class PublishResult:
    months_replaced: list[date]
    months_withdrawn: list[date]
    rows_written: int
    rows_removed: int


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


def _publishing_statements(viz_table: Table, mart_table: Table, *, by_month: bool) -> tuple[sql.Composed, ...]:
    """The statements that make `viz_table` hold `mart_table`'s certified rows (of the replaced months, or all):
    remove the rows that differ, then copy the rows missing. A detail table carries no stamp of its own, so its
    unchanged rows are neither removed nor written again."""
    stamped = STAMP[0] in column_names(viz_table)
    certification_stamp = [sql.Identifier("certification", name) for name in STAMP] if stamped else []
    shown_stamp = [sql.Identifier("figures", name) for name in STAMP] if stamped else []
    names = [name for name in column_names(viz_table) if name not in STAMP]
    common = {"viz_table": sql.Identifier(viz_table.schema, viz_table.name),
              "mart_table": sql.Identifier(mart_table.schema, mart_table.name),
              "months": sql.SQL("figures.month = any(%(months)s)" if by_month else "true")}
    unpublish = sql.SQL(load_sql("publishing", "unpublish_changed_rows")).format(
        incoming=sql.SQL(", ").join([*_compared("figures", viz_table), *certification_stamp]),
        shown=sql.SQL(", ").join([*_compared("figures", viz_table), *shown_stamp]),
        same_key=_key_match("published", "changed", viz_table), **common)
    publish = sql.SQL(load_sql("publishing", "publish_figures")).format(
        columns=sql.SQL(", ").join(map(sql.Identifier, [*names, *(STAMP if stamped else ())])),
        figures=sql.SQL(", ").join([*(sql.Identifier("figures", name) for name in names), *certification_stamp]),
        shown_key=_key_match("shown", "figures", viz_table), **common)
    return unpublish, publish


def publish_certified_figures(conn: psycopg.Connection, certification_id: int, certified_hash: str, *,
                              latest_publishable: date, restate: bool = False) -> PublishResult:
    """Publish the mart's figures under `certification_id`, in the caller's transaction.

    Args:
        conn: The warehouse, in the transaction that must also hold the lease.
        certification_id: A certification that passed.
        certified_hash: The fingerprint certification recorded for these figures.
        latest_publishable: No figure with a later snapshot date is published (today, in the business timezone).
        restate: Replace every certified month whatever is shown, and withdraw later months.

    Raises:
        UncertifiedFigures: the mart no longer holds the figures that were certified, or holds
            figures dated after `latest_publishable`. What was written is undone with the caller's
            transaction, which must then roll back.
    """
    for viz_table in (*PUBLISHED_FROM_MART, viz_customer_detail_certification):
        conn.execute(sql.SQL("lock table {} in exclusive mode").format(sql.Identifier(viz_table.schema,
                                                                                      viz_table.name)))
    # The mart stays as it is until the commit, so it is fingerprinted beside the writes, on another core, and
    # the writes are undone with the caller's transaction unless it is the mart that was certified.
    for mart_table in PUBLISHED_FROM_MART.values():
        conn.execute(sql.SQL("lock table {} in share mode").format(sql.Identifier(mart_table.schema,
                                                                                  mart_table.name)))
    with beside(conn) as other, ThreadPoolExecutor(1) as pool:
        fingerprint = pool.submit(figures_hash, other)
        result = _replace_published(conn, certification_id, latest_publishable, restate)
        current = fingerprint.result()
    if current != certified_hash:
        raise UncertifiedFigures(f"the mart's figures hash to {current[:12]}, the certified figures to "
                                 f"{certified_hash[:12]}: nothing published")
    return result


def _replace_published(conn: psycopg.Connection, certification_id: int, latest_publishable: date,
                       restate: bool) -> PublishResult:
    latest = conn.execute("select max(snapshot_date) from mart.mart_mrr_bridge_total").fetchone()[0]
    if latest is not None and latest > latest_publishable:
        raise UncertifiedFigures(f"the figures run to {latest}, after today ({latest_publishable}): a snapshot "
                                 "in the future is never published")
    months = [row[0] for row in conn.execute(load_sql("publishing", "replaced_months"),
                                             {"certification_id": certification_id, "restate": restate})]
    withdrawn = [row[0] for row in conn.execute(load_sql("publishing", "withdrawn_months"),
                                                {"certification_id": certification_id})] if restate else []
    params = {"certification_id": certification_id, "months": months}
    removed = written = 0
    for viz_table, mart_table in PUBLISHED_BY_MONTH.items():
        removed += conn.execute(sql.SQL("delete from {} where month = any(%s)").format(
            sql.Identifier(viz_table.schema, viz_table.name)), [withdrawn]).rowcount
        unpublish, publish = _publishing_statements(viz_table, mart_table, by_month=True)
        removed += conn.execute(unpublish, params).rowcount
        written += conn.execute(publish, params).rowcount
    if months:
        for viz_table, mart_table in PUBLISHED_WHOLE.items():
            unpublish, publish = _publishing_statements(viz_table, mart_table, by_month=False)
            removed += conn.execute(unpublish, params).rowcount
            written += conn.execute(publish, params).rowcount
        conn.execute("delete from viz.customer_detail_certification")
        conn.execute(load_sql("publishing", "publish_detail_certification"), params)
    return PublishResult(months, withdrawn, written, removed)
