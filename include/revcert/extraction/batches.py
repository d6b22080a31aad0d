"""Extraction batches, whatever the source: one row in `raw.extraction_batch` per read of a source."""
from __future__ import annotations

from revcert.warehouse.connection import connect


def fail_batch(dsn: str, batch_id: int, error: BaseException) -> None:
    """Mark a batch failed with why, in a transaction of its own (the failed one rolled back)."""
    with connect(dsn) as conn:
        conn.execute("update raw.extraction_batch set status = 'failed', finished_at = now(), error = %s "
                     "where batch_id = %s and status in ('running', 'extracted')",
                     [f"{type(error).__name__}: {error}", batch_id])
