"""Merge a shop's extracted batch into staging, write its audit, move its watermark.

All of it happens in one transaction: after a failure, the shop's staging, its
audit and its watermark are exactly as they were, and the batch is marked
failed. An order's refunds and their transactions are replaced whole by its
current version, never patched; a whole read of a shop replaces everything
staged of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from revcert.extraction.batches import fail_batch
from revcert.extraction.errors import SourceDataError
from revcert.sqlfiles import load_sql
from revcert.warehouse.bulk_writes import analyze_if_changed
from revcert.warehouse.connection import connect

_MAX_SHOWN = 50
MERGES = ("stg_shop", "stg_order", "stg_order_children_cleared", "stg_refund", "stg_refund_transaction")
# The merges that write the staging table they are named for (the others only clear rows).
STAGED_TABLES = ("stg_shop", "stg_order", "stg_refund", "stg_refund_transaction")


@dataclass(frozen=True)
class ShopAudit:
    """What one shop's batch fetched and staged, against what the source counted."""

    batch_id: int
    shop_id: str
    api: str
    orders_fetched: int
    source_count: int
    staged_count: int
    watermark_before: datetime | None
    watermark_after: datetime | None

    @property
    def complete(self) -> bool:
        return self.source_count == self.staged_count


def check_duplicate_orders(conn: psycopg.Connection, batch_id: int, shop_id: str) -> None:
    """Two different orders under one id and updatedAt in a batch stop it, naming them."""
    duplicates = conn.execute(load_sql("staging/audit", "shopify_duplicate_orders"), {"batch_id": batch_id}).fetchall()
    if duplicates:
        listed = ", ".join(f"{order_id} ({versions} versions at {updated:%Y-%m-%dT%H:%M:%S}Z)"
                           for order_id, updated, versions in duplicates[:_MAX_SHOWN])
        raise SourceDataError(f"shop {shop_id}: duplicate_order_id: {len(duplicates)} order id(s) arrived with "
                              f"different contents under the same id and updatedAt (rule: an id names one order): "
                              f"{listed}")


def stage_shop_batch(dsn: str, batch_id: int) -> ShopAudit:
    """Merge extracted batch `batch_id` of one shop into staging, with its audit and watermark."""
    try:
        with connect(dsn) as conn:
            row = conn.execute(
                "select batch.status, batch.mode, batch.shop_id, fetched.api, fetched.search, fetched.orders_fetched, "
                "fetched.watermark_before, fetched.max_updated_at, fetched.source_count, fetched.extracted_at "
                "from raw.extraction_batch as batch left join raw.shopify_batch as fetched using (batch_id) "
                "where batch.batch_id = %s for update of batch", [batch_id]).fetchone()
            if row is None or row[0] != "extracted":
                raise SourceDataError(f"batch {batch_id} cannot be staged: its status is "
                                      f"{row[0] if row else 'unknown'}, not extracted")
            (_, mode, shop_id, api, search, fetched, watermark_before, latest, source_count, extracted_at) = row
            check_duplicate_orders(conn, batch_id, shop_id)
            if mode == "full":
                conn.execute(load_sql("staging", "stg_shop_cleared"), {"shop_id": shop_id})
            merged = {merge: conn.execute(load_sql("staging", merge), {"batch_id": batch_id}).rowcount
                      for merge in MERGES}
            for table in STAGED_TABLES:
                analyze_if_changed(conn, "staging", table, merged[table])
            staged = conn.execute("select count(*) from staging.stg_order where shop_id = %s",
                                  [shop_id]).fetchone()[0]
            moves = mode != "range" and latest is not None
            watermark_after = max(filter(None, (watermark_before, latest))) if moves else watermark_before
            conn.execute(
                "insert into staging.shopify_extraction_audit (batch_id, shop_id, api, search, orders_fetched, "
                "watermark_before, watermark_after, source_count, staged_count, extracted_at) values "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [batch_id, shop_id, api, search, fetched, watermark_before, watermark_after, source_count, staged,
                 extracted_at])
            if moves:
                conn.execute("insert into staging.shopify_watermark (shop_id, watermark, batch_id) values (%s, %s, %s) "
                             "on conflict (shop_id) do update set watermark = excluded.watermark, "
                             "batch_id = excluded.batch_id, updated_at = now()", [shop_id, watermark_after, batch_id])
            conn.execute("update raw.extraction_batch set status = 'staged', finished_at = now() where batch_id = %s",
                         [batch_id])
        return ShopAudit(batch_id, shop_id, api, fetched, source_count, staged, watermark_before, watermark_after)
    except BaseException as error:
        fail_batch(dsn, batch_id, error)
        raise


def read_shop_audit(conn: psycopg.Connection, batch_id: int) -> ShopAudit | None:
    row = conn.execute("select batch_id, shop_id, api, orders_fetched, source_count, staged_count, watermark_before, "
                       "watermark_after from staging.shopify_extraction_audit where batch_id = %s",
                       [batch_id]).fetchone()
    return ShopAudit(*row) if row else None
