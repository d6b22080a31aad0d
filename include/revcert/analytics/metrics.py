"""ARR, net and gross revenue retention, logo churn and customer counts, from the published figures.

They are computed again from `viz` whenever figures are published, in the
publishing transaction: a metric only ever reads figures that are certified and
shown, and readers see the metrics of the figures they see. The definitions are
in `sql/analytics/mrr_metrics.sql` and the README.
"""
from __future__ import annotations

import psycopg
from psycopg import sql

from revcert.sqlfiles import load_sql
from revcert.warehouse.connection import work_mem_at_least
from revcert.warehouse.schema import analytics_mrr_metrics, analytics_mrr_metrics_total, column_names

# Memory for the metrics statement's sorts and hashes, per operation.
METRICS_WORK_MEM = "64MB"


def refresh_metrics(conn: psycopg.Connection) -> int:
    """Replace every metric, per business unit and in total, from what viz holds now; returns rows written.

    The metrics are computed once into a table of the transaction's own, then split: computing them for each
    table read every published customer-month twice (5 s of a publication at 200,000 lines).
    """
    conn.execute("drop table if exists pg_temp.computed_metrics")
    # The twelve-month figures join every published customer-month to the one a year later: at 4 MB
    # (PostgreSQL's default) that hash join spilled in 32 batches (1,000,000 lines: 10.3 s; 6.4 s with 64 MB).
    # Raised for this statement only.
    with work_mem_at_least(conn, METRICS_WORK_MEM):
        conn.execute(sql.SQL("create temp table computed_metrics on commit drop as {}").format(
            sql.SQL(load_sql("analytics", "mrr_metrics"))))
    written = 0
    for table, is_total in ((analytics_mrr_metrics, False), (analytics_mrr_metrics_total, True)):
        target = sql.Identifier(table.schema, table.name)
        columns = sql.SQL(", ").join(map(sql.Identifier, column_names(table)))
        conn.execute(sql.SQL("delete from {}").format(target))
        written += conn.execute(sql.SQL(
            "insert into {target} ({columns}) select {columns} from pg_temp.computed_metrics as metrics "
            "where (metrics.business_unit is null) = {is_total}").format(
            target=target, columns=columns, is_total=sql.Literal(is_total))).rowcount
    return written
