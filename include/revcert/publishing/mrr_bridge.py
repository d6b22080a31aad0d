"""Publish a certified MRR bridge (and its cohort retention) into viz, atomically.

Per month, the row shown is the one of the latest certified run whose snapshot
date is not earlier than the one already shown, so a backfill never replaces a
complete month with a partial one. A month is replaced whole (all its business
units) or not at all, in one transaction: readers see the old figures or the
new ones, never a mix.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

import psycopg

from revcert.sqlfiles import load_sql


class UncertifiedFigures(RuntimeError):
    """The figures about to be published are not the ones certified."""


@dataclass(frozen=True)
class PublishResult:
    months_replaced: int
    rows_written: int


def _rows_hash(rows: Iterable[tuple]) -> str:
    """SHA-256 of rows in the order given, every value as its exact text."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update("|".join("" if value is None else str(value) for value in row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def figures_hash(conn: psycopg.Connection) -> str:
    """SHA-256 of the mart's bridge, row by row in key order, amounts as their exact text."""
    return _rows_hash(conn.execute(load_sql("certification", "mart_bridge_figures")))


def viz_hash(conn: psycopg.Connection) -> str:
    """SHA-256 of everything published in viz.mrr_bridge (to prove it did not change)."""
    return _rows_hash(conn.execute("select * from viz.mrr_bridge order by month, business_unit"))


def publish_mrr_bridge(conn: psycopg.Connection, certification_id: int, certified_hash: str) -> PublishResult:
    """Publish the mart's bridge under `certification_id`, in the caller's transaction.

    Raises:
        UncertifiedFigures: the mart no longer holds the figures that were certified.
    """
    conn.execute("lock table viz.mrr_bridge in exclusive mode")
    current = figures_hash(conn)
    if current != certified_hash:
        raise UncertifiedFigures(f"the mart's bridge hashes to {current[:12]}, the certified figures to "
                                 f"{certified_hash[:12]}: nothing published")
    months = [row[0] for row in conn.execute(load_sql("viz", "replaced_months"),
                                             {"certification_id": certification_id})]
    conn.execute("lock table viz.cohort_retention in exclusive mode")
    params = {"certification_id": certification_id, "months": months}
    conn.execute("delete from viz.mrr_bridge where month = any(%s)", [months])
    written = conn.execute(load_sql("viz", "publish_mrr_bridge"), params).rowcount
    # Cohort figures come from the same certified customer snapshots, under the same certification.
    conn.execute("delete from viz.cohort_retention where month = any(%s)", [months])
    conn.execute(load_sql("viz", "publish_cohort_retention"), params)
    return PublishResult(len(months), written)
