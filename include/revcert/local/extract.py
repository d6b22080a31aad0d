"""Extract and stage one Salesforce batch outside Airflow (tests and the benchmark), holding the warehouse lease."""
from __future__ import annotations

import os
import uuid

from revcert.extraction.salesforce_client import SalesforceClient
from revcert.extraction.salesforce_extract import extract_batch, open_batch
from revcert.settings import Settings
from revcert.staging.salesforce_staging import stage_batch
from revcert.warehouse.lease import LeaseHolder, warehouse_lease


def extract_salesforce(dsn: str, client: SalesforceClient, settings: Settings | None = None, *,
                       full: bool = False) -> int:
    """Extract and stage one batch; returns its id."""
    settings = settings or Settings()
    holder = LeaseHolder(f"revcert extract {os.getpid()}-{uuid.uuid4().hex[:8]}")
    with warehouse_lease(dsn, holder, heartbeat_seconds=settings.lease_heartbeat_seconds,
                         wait_seconds=settings.lease_wait_seconds, stale_seconds=settings.lease_stale_seconds,
                         orphan_seconds=settings.lease_orphan_seconds):
        batch = open_batch(dsn, full=full)
        extract_batch(dsn, batch, client, settings)
        stage_batch(dsn, batch.batch_id, settings)
    return batch.batch_id
