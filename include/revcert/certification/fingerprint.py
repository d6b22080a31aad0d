"""The certified figures' fingerprint: SHA-256 of every published mart table, row by row.

Certification records it; publishing refuses to copy a mart whose fingerprint
has changed since (a later build, or a hand edit, between certify and publish).

PostgreSQL hashes the rows where they are: each row as its exact text (the
row constructor's, which quotes and marks nulls unambiguously), in key order,
in chunks whose digests are hashed in turn, so no table is ever one value in
memory. Fetching every row into Python to hash it took longer than building
the mart's biggest model.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

import psycopg
from psycopg import sql
from sqlalchemy import Table

from revcert.warehouse.schema import (
    PUBLISHED_FROM_MART,
    column_names,
    key_names,
    mart_shop_day,
    viz_customer_detail_certification,
)

ROWS_PER_CHUNK = 10_000
EVERY_ROW = sql.SQL("true")


def table_hash(conn: psycopg.Connection, table: Table, where: sql.Composable = EVERY_ROW,
               params: Iterable[object] = ()) -> str:
    """SHA-256 of a table's rows (those `where` keeps) in key order, hashed by PostgreSQL."""
    query = sql.SQL("""
        with ordered as (
            select row({columns})::text as line, row_number() over (order by {keys}) as position
            from {table}
            where {where}
        ),
        chunks as (
            select sha256(convert_to(string_agg(line, E'\\n' order by position), 'UTF8')) as digest,
                   (position - 1) / {per_chunk} as chunk
            from ordered
            group by chunk
        )
        select encode(sha256(coalesce(string_agg(digest, ''::bytea order by chunk), ''::bytea)), 'hex')
        from chunks
    """).format(columns=sql.SQL(", ").join(map(sql.Identifier, column_names(table))),
                keys=sql.SQL(", ").join(map(sql.Identifier, key_names(table))),
                table=sql.Identifier(table.schema, table.name), where=where, per_chunk=sql.Literal(ROWS_PER_CHUNK))
    return conn.execute(query, list(params)).fetchone()[0]


def _tables_hash(conn: psycopg.Connection, tables: Iterable[Table]) -> str:
    digest = hashlib.sha256()
    for table in tables:
        digest.update(f"{table.schema}.{table.name}\n{table_hash(conn, table)}\n".encode())
    return digest.hexdigest()


def figures_hash(conn: psycopg.Connection) -> str:
    """The fingerprint of the figures in the mart that publishing would copy to viz."""
    return _tables_hash(conn, PUBLISHED_FROM_MART.values())


def shop_figures_hash(conn: psycopg.Connection, shop_id: str) -> str:
    """The fingerprint of what publishing would copy of one shop: its days in this run's scope."""
    return table_hash(conn, mart_shop_day, sql.SQL("shop_id = %s and day in (select day from mart.mart_shop_day_scope "
                                                   "where shop_id = %s)"), [shop_id, shop_id])


def published_hash(conn: psycopg.Connection) -> str:
    """The fingerprint of everything published in viz (to prove a failed run changed nothing)."""
    return _tables_hash(conn, [*PUBLISHED_FROM_MART, viz_customer_detail_certification])
