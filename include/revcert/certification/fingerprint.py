"""The certified figures' fingerprint: SHA-256 of every published mart table, row by row.

Certification records it; publishing refuses to copy a mart whose fingerprint
has changed since (a later build, or a hand edit, between certify and publish).

PostgreSQL hashes the rows where they are: each row as its exact text (the
row constructor's, which quotes and marks nulls unambiguously), in key order,
in chunks whose digests are hashed in turn, so no table is ever one value in
memory. Fetching every row into Python to hash it took longer than building
the mart's biggest model.

The detail behind the bridge (customer-months, lines, contracts) is hashed one
customer at a time: check 4 compares a customer's digest with the one its last
row-by-row comparison vouched for (revcert.certification.detail_proofs), and the
fingerprint of a detail table is the digest of its customers' digests, so the
rows are hashed once for both.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import psycopg
from psycopg import sql
from sqlalchemy import Table

from revcert.warehouse.schema import (
    CUSTOMER_DETAIL,
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


def _tables_hash(conn: psycopg.Connection, tables: Iterable[Table],
                 hashed: dict[str, str] | None = None) -> str:
    digest = hashlib.sha256()
    for table in tables:
        table_digest = (hashed or {}).get(table.name) or table_hash(conn, table)
        digest.update(f"{table.schema}.{table.name}\n{table_digest}\n".encode())
    return digest.hexdigest()


# Customer id -> the SHA-256 of its rows in one detail table.
CustomerDigests = dict[str, bytes]


def customer_digests(conn: psycopg.Connection, table: Table) -> CustomerDigests:
    """Each customer's rows of a detail table, hashed by PostgreSQL as `table_hash` hashes rows: their texts one
    per line, in key order (text in code points, whatever the database's collation, so that check 4 can hash
    the derivation's rows in the same order: `row_text`)."""
    query = sql.SQL("""
        select customer_id, sha256(convert_to(string_agg(row({columns})::text, E'\\n' order by {keys}), 'UTF8'))
        from {table}
        group by customer_id
    """).format(columns=sql.SQL(", ").join(map(sql.Identifier, column_names(table))),
                keys=code_point_order(table, key_names(table)), table=sql.Identifier(table.schema, table.name))
    return dict(conn.execute(query).fetchall())


def code_point_order(table: Table, names: Iterable[str]) -> sql.Composed:
    """`names` as an order by list, text in code points (as Python sorts it) whatever the database's collation."""
    return sql.SQL(", ").join(sql.SQL("{} collate \"C\"").format(sql.Identifier(name))
                              if table.c[name].type.python_type is str else sql.Identifier(name) for name in names)


NO_ROWS = bytes(32)


def combined_detail_digest(table_digests: Mapping[str, bytes]) -> bytes:
    """One customer's digest over the detail tables, from its digest in each, by table name (a table it has no
    rows in counts as NO_ROWS)."""
    return hashlib.sha256(b"".join(table_digests.get(name, NO_ROWS) for name in _DETAIL_NAMES)).digest()


_DETAIL_NAMES = sorted(table.name for table in CUSTOMER_DETAIL)


def customer_detail_digests(by_table: Mapping[str, CustomerDigests]) -> dict[str, bytes]:
    """Each customer's digest over the detail tables, from its digests per table (`detail_digests`)."""
    return {customer_id: combined_detail_digest({name: digests[customer_id] for name, digests in by_table.items()
                                                 if customer_id in digests})
            for customer_id in set().union(*by_table.values())}


def detail_digests(conn: psycopg.Connection) -> dict[str, CustomerDigests]:
    """Each customer's digest in each mart detail table (customer-months, lines, contracts), by table name."""
    # Kept as proofs from run to run: dates as the same text whatever the session's settings.
    conn.execute("set local datestyle = 'ISO, YMD'")
    return {table.name: customer_digests(conn, table) for table in CUSTOMER_DETAIL}


def _digests_hash(digests: CustomerDigests) -> str:
    """One detail table's fingerprint: its customers' digests in customer order (code points)."""
    digest = hashlib.sha256()
    for customer_id in sorted(digests):
        digest.update(f"{customer_id}\t{digests[customer_id].hex()}\n".encode())
    return digest.hexdigest()


def figures_hash(conn: psycopg.Connection, digests: dict[str, CustomerDigests] | None = None) -> str:
    """The fingerprint of the figures in the mart that publishing would copy to viz (`digests`: the detail's, if
    the caller has them)."""
    digests = detail_digests(conn) if digests is None else digests
    return _tables_hash(conn, PUBLISHED_FROM_MART.values(),
                        {name: _digests_hash(of_table) for name, of_table in digests.items()})


def shop_figures_hash(conn: psycopg.Connection, shop_id: str) -> str:
    """The fingerprint of what publishing would copy of one shop: its days in this run's scope."""
    return table_hash(conn, mart_shop_day, sql.SQL("shop_id = %s and day in (select day from mart.mart_shop_day_scope "
                                                   "where shop_id = %s)"), [shop_id, shop_id])


def published_hash(conn: psycopg.Connection) -> str:
    """The fingerprint of everything published in viz (to prove a failed run changed nothing)."""
    return _tables_hash(conn, [*PUBLISHED_FROM_MART, viz_customer_detail_certification])
