"""What every fault test asserts about the warehouse: viz as it was, and nothing left open."""
from __future__ import annotations

import hashlib

import psycopg


def viz_fingerprint(url: str) -> str:
    """Every row of every table in viz, in a fixed order: equal fingerprints mean viz is byte for byte the same."""
    digest = hashlib.sha256()
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'viz' "
            "and table_type = 'BASE TABLE' order by table_name")]
        for table in tables:
            rows = conn.execute(f'select * from viz."{table}"').fetchall()
            digest.update(f"{table}\n".encode())
            for row in sorted(map(repr, rows)):
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
