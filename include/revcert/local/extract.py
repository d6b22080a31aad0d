"""Extract and stage one batch outside Airflow (tests and the benchmark), holding the pipeline's lease."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from revcert.extraction.salesforce_client import SalesforceClient
from revcert.extraction.salesforce_extract import extract_batch, open_batch
from revcert.extraction.shopify_client import ShopifyClient, legacy_id
from revcert.extraction.shopify_extract import extract_shop, open_shop_batch
from revcert.settings import Settings
from revcert.staging.salesforce_staging import stage_batch
from revcert.staging.shopify_staging import stage_shop_batch
from revcert.warehouse.lease import MRR_LEASE, SHOP_LEASE, LeaseHolder, warehouse_lease


@contextmanager
def _holding(dsn: str, lease: str, settings: Settings) -> Iterator[None]:
    holder = LeaseHolder(f"revcert extract {os.getpid()}-{uuid.uuid4().hex[:8]}", lease=lease)
    with warehouse_lease(dsn, holder, heartbeat_seconds=settings.lease_heartbeat_seconds,
                         wait_seconds=settings.lease_wait_seconds, stale_seconds=settings.lease_stale_seconds,
                         orphan_seconds=settings.lease_orphan_seconds):
        yield


def extract_salesforce(dsn: str, client: SalesforceClient, settings: Settings | None = None, *,
                       full: bool = False) -> int:
    """Extract and stage one Salesforce batch; returns its id."""
    settings = settings or Settings()
    with _holding(dsn, MRR_LEASE, settings):
        batch = open_batch(dsn, full=full)
        extract_batch(dsn, batch, client, settings)
        stage_batch(dsn, batch.batch_id, settings)
    return batch.batch_id


def extract_shopify(dsn: str, client: ShopifyClient, settings: Settings | None = None, *, full: bool = False,
                    order_days: tuple[date, date] | None = None) -> int:
    """Extract and stage one shop's batch (whole, since its watermark, or a range of order days); returns its id."""
    settings = settings or Settings()
    with _holding(dsn, SHOP_LEASE, settings):
        batch = open_shop_batch(dsn, legacy_id(client.access.shop_gid), full=full, order_days=order_days)
        extract_shop(dsn, batch, client, settings)
        stage_shop_batch(dsn, batch.batch_id)
    return batch.batch_id
