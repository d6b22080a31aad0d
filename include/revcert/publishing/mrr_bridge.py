"""Publish certified figures into viz, atomically: the bridge, its totals, cohort retention, and the customers,
lines and contracts behind them.

Per month, the rows shown are those of the latest certified run whose snapshot
date is not earlier than the one already shown, so a backfill never replaces a
complete month with a partial one. A month is replaced whole (every published
table, every business unit) or not at all, in one transaction: readers see the
old figures or the new ones, never a mix. The lines and contracts span months:
they are replaced whole whenever any month is, so they are those of the latest
certification that published.

A restatement (an operator's deliberate run) replaces every month it
certified whatever the snapshot dates shown, and withdraws published months
later than its own as-of month: the way to undo figures published by mistake
(a future as-of date, a defect since fixed), recorded in its certification.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from revcert.certification.fingerprint import figures_hash
from revcert.sqlfiles import load_sql
from revcert.warehouse.schema import PUBLISHED_BY_MONTH, PUBLISHED_FROM_MART, PUBLISHED_WHOLE, column_names


class UncertifiedFigures(RuntimeError):
    """The figures about to be published are not the ones certified, or are not publishable."""


@dataclass(frozen=True)
class PublishResult:
    months_replaced: list[date]
    months_withdrawn: list[date]
    rows_written: int


def _copy_statement(viz_table, mart_table, *, by_month: bool) -> sql.Composed:
    columns = [name for name in column_names(viz_table) if name not in ("certification_id", "certified_at")]
    return sql.SQL(load_sql("publishing", "publish_figures")).format(
        viz_table=sql.Identifier(viz_table.schema, viz_table.name),
        mart_table=sql.Identifier(mart_table.schema, mart_table.name),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        figures=sql.SQL(", ").join(sql.Identifier("figures", name) for name in columns),
        months=sql.SQL("figures.month = any(%(months)s)" if by_month else "true"))


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
            figures dated after `latest_publishable`.
    """
    for viz_table in PUBLISHED_FROM_MART:
        conn.execute(sql.SQL("lock table {} in exclusive mode").format(sql.Identifier(viz_table.schema,
                                                                                      viz_table.name)))
    current = figures_hash(conn)
    if current != certified_hash:
        raise UncertifiedFigures(f"the mart's figures hash to {current[:12]}, the certified figures to "
                                 f"{certified_hash[:12]}: nothing published")
    latest = conn.execute("select max(snapshot_date) from mart.mart_mrr_bridge_total").fetchone()[0]
    if latest is not None and latest > latest_publishable:
        raise UncertifiedFigures(f"the figures run to {latest}, after today ({latest_publishable}): a snapshot "
                                 "in the future is never published")
    months = [row[0] for row in conn.execute(load_sql("publishing", "replaced_months"),
                                             {"certification_id": certification_id, "restate": restate})]
    withdrawn = [row[0] for row in conn.execute(load_sql("publishing", "withdrawn_months"),
                                                {"certification_id": certification_id})] if restate else []
    written = 0
    for viz_table, mart_table in PUBLISHED_BY_MONTH.items():
        conn.execute(sql.SQL("delete from {} where month = any(%s)").format(
            sql.Identifier(viz_table.schema, viz_table.name)), [months + withdrawn])
        written += conn.execute(_copy_statement(viz_table, mart_table, by_month=True),
                                {"certification_id": certification_id, "months": months}).rowcount
    if months:
        for viz_table, mart_table in PUBLISHED_WHOLE.items():
            conn.execute(sql.SQL("delete from {}").format(sql.Identifier(viz_table.schema, viz_table.name)))
            written += conn.execute(_copy_statement(viz_table, mart_table, by_month=False),
                                    {"certification_id": certification_id}).rowcount
    return PublishResult(months, withdrawn, written)
