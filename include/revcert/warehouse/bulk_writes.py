"""A table a step wrote in bulk: its planner statistics, and its key and indexes when the step filled it whole.

The next step plans its reads right after the write, before autovacuum has
looked, so a table written in bulk is analysed by the step that wrote it.
Building an index over rows already in place costs far less than maintaining
it row by row (the mart at 200,000 lines: about 40% less; an empty viz table of
customer-months: a quarter of the time). The grain is still enforced: a
duplicate fails the primary key's build. The key and indexes are built again
as the migrations declared them, read from the catalogue, so nothing here
restates the schema.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql


def index_statements(conn: psycopg.Connection, schema: str, table: str
                     ) -> tuple[list[sql.Composed], list[sql.Composed]]:
    """Statements that drop a table's primary key and indexes, and statements that build them again."""
    qualified = sql.Identifier(schema, table)
    keys = conn.execute("select conname, pg_get_constraintdef(oid) from pg_constraint "
                        "where conrelid = %s::regclass and contype = 'p'", [f"{schema}.{table}"]).fetchall()
    indexes = conn.execute("select indexname, indexdef from pg_indexes where schemaname = %s and tablename = %s "
                           "and indexname <> all(%s)", [schema, table, [name for name, _ in keys]]).fetchall()
    drops = [*(sql.SQL("alter table {} drop constraint {}").format(qualified, sql.Identifier(name))
               for name, _ in keys),
             *(sql.SQL("drop index {}").format(sql.Identifier(schema, name)) for name, _ in indexes)]
    builds = [*(sql.SQL("alter table {} add constraint {} {}").format(qualified, sql.Identifier(name),
                                                                      sql.SQL(definition))
                for name, definition in keys),
              *(sql.SQL(definition) for _, definition in indexes)]
    return drops, builds


@contextmanager
def indexes_built_after(conn: psycopg.Connection, schema: str, table: str) -> Iterator[None]:
    """Fill an empty table inside: its primary key and indexes are dropped first and built after, then it is
    analysed (what reads it next plans from its real size). In the caller's transaction, which holds the table
    in ACCESS EXCLUSIVE mode until it ends: readers wait for the rows instead of reading none."""
    drops, builds = index_statements(conn, schema, table)
    for statement in drops:
        conn.execute(statement)
    yield
    for statement in builds:
        conn.execute(statement)
    _analyze(conn, schema, table)


def analyze_if_changed(conn: psycopg.Connection, schema: str, table: str, rows_changed: int) -> bool:
    """Analyse a table a step just wrote when `rows_changed` is more than a tenth of the rows its statistics
    count (autovacuum's own threshold), or it has none; True if it did.

    The next step plans its reads right after the write, before autovacuum has looked: a table planned from no
    statistics or from a tenth of its size gets sorts where hashes belong. ANALYZE reads a sample, so its cost
    does not grow with the table; a write of a few rows into a large table leaves the statistics as they are.
    """
    counted = conn.execute("select reltuples from pg_class where oid = %s::regclass",
                           [f"{schema}.{table}"]).fetchone()[0]
    if counted >= 0 and rows_changed * 10 <= counted:
        return False
    _analyze(conn, schema, table)
    return True


def _analyze(conn: psycopg.Connection, schema: str, table: str) -> None:
    conn.execute(sql.SQL("analyze {}").format(sql.Identifier(schema, table)))
