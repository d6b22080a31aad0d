"""The main job as plain function calls, shared by the CLI and the DAG tasks.

Today the job goes as far as a staged, audited extraction; the methodology,
certification and publishing stages join it in the same way.
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from revcert.extraction.audit import BatchAudit, format_batch_audit, read_batch_audit
from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
from revcert.extraction.salesforce_extract import extract_salesforce
from revcert.settings import Settings
from revcert.warehouse import migrate
from revcert.warehouse.database import warehouse_url


@dataclass(frozen=True)
class RunResult:
    audit: BatchAudit
    report: str

    @property
    def complete(self) -> bool:
        return self.audit.complete


def extract_and_stage(*, snapshot: Path | None = None, salesforce_conn: str | None = None,
                      database_url: str | None = None, full: bool = False,
                      settings: Settings | None = None) -> RunResult:
    """Migrate the warehouse, extract one batch and return its audit.

    With `snapshot`, the org is served through the Salesforce stand-in so the
    real extraction path (HTTPS, OAuth, paging, Bulk 2.0) runs.
    """
    from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn

    settings = settings or Settings()
    url = warehouse_url(database_url, settings)
    migrate.upgrade(url)
    with ExitStack() as stack:
        if snapshot is not None:
            standin = stack.enter_context(SalesforceStandIn(SalesforceOrg.from_snapshot(snapshot)))
            credentials = SalesforceCredentials(standin.url, standin.client_id, standin.client_secret,
                                                str(standin.ca_bundle))
        else:
            credentials = SalesforceCredentials.from_airflow_connection(salesforce_conn)
        batch = extract_salesforce(url, SalesforceClient(credentials, settings), settings, full=full)
    audit = read_batch_audit(url, batch.batch_id)
    return RunResult(audit, format_batch_audit(audit))
