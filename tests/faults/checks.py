"""What every fault test asserts about the warehouse: viz as it was, and nothing left open."""
from __future__ import annotations

import hashlib

import psycopg


def viz_rows(url: str, *, with_moments: bool = True) -> list[tuple[str, list[str]]]:
    """Every table in viz with its rows (each as repr, sorted); without the moments things were published
    at when `with_moments` is false, to compare what two warehouses publish."""
    moments = "" if with_moments else "and data_type not like 'timestamp%%' "
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'viz' "
            "and table_type = 'BASE TABLE' order by table_name")]
        published = []
        for table in tables:
            columns = [row[0] for row in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'viz' "
                f"and table_name = %s {moments}order by ordinal_position", [table])]
            rows = conn.execute(f'select {", ".join(columns)} from viz."{table}"').fetchall()
            published.append((table, sorted(map(repr, rows))))
    return published


def viz_fingerprint(url: str) -> str:
    """Every row of every table in viz, in a fixed order: equal fingerprints mean viz is byte for byte the same."""
    digest = hashlib.sha256()
    for table, rows in viz_rows(url):
        digest.update(f"{table}\n".encode())
        for row in rows:
            digest.update(row.encode() + b"\n")
    return digest.hexdigest()


def left_open(url: str) -> list[tuple]:
    """Certification records still open and extraction batches still going (none may be, once a run has ended)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select 'certification', certification_id::text, status from certification.certification_run "
            "where status = 'running' or closed_at is null "
            "union all select 'batch', batch_id::text, status from raw.extraction_batch "
            "where status in ('running', 'extracted')").fetchall()
