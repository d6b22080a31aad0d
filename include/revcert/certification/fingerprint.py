"""The certified figures' fingerprint: SHA-256 of every published mart table, row by row.

Certification records it; publishing refuses to copy a mart whose fingerprint
has changed since (a later build, or a hand edit, between certify and publish).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Table

from revcert.warehouse.schema import PUBLISHED_FROM_MART, column_names, key_names, mart_shop_day


def rows_hash(rows: Iterable[tuple], digest: Any = None) -> str:
    """SHA-256 of rows in the order given, every value as its exact text."""
    digest = digest or hashlib.sha256()
    for row in rows:
        digest.update("|".join("" if value is None else str(value) for value in row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def table_rows(conn: psycopg.Connection, table: Table) -> Iterable[tuple]:
    """Every row of a table in key order, columns in their declared order."""
    return conn.execute(sql.SQL("select {} from {} order by {}").format(
        sql.SQL(", ").join(map(sql.Identifier, column_names(table))), sql.Identifier(table.schema, table.name),
        sql.SQL(", ").join(map(sql.Identifier, key_names(table)))))


def figures_hash(conn: psycopg.Connection) -> str:
    """The fingerprint of the figures in the mart that publishing would copy to viz."""
    digest = hashlib.sha256()
    for table in PUBLISHED_FROM_MART.values():
        digest.update(f"{table.schema}.{table.name}\n".encode())
        rows_hash(table_rows(conn, table), digest)
    return digest.hexdigest()


def shop_figures_hash(conn: psycopg.Connection, shop_id: str) -> str:
    """The fingerprint of what publishing would copy of one shop: its days in this run's scope."""
    columns = sql.SQL(", ").join(map(sql.Identifier, column_names(mart_shop_day)))
    rows = conn.execute(sql.SQL("select {} from mart.mart_shop_day where shop_id = %s and day in (select day from "
                                "mart.mart_shop_day_scope where shop_id = %s) order by day").format(columns),
                        [shop_id, shop_id])
    return rows_hash(rows)


def published_hash(conn: psycopg.Connection) -> str:
    """The fingerprint of everything published in viz (to prove a failed run changed nothing)."""
    digest = hashlib.sha256()
    for table in PUBLISHED_FROM_MART:
        digest.update(f"{table.schema}.{table.name}\n".encode())
        rows_hash(table_rows(conn, table), digest)
    return digest.hexdigest()
