"""`revcert shop audit`: one shop's range of days recomputed from the source and compared, kept like any
reconciliation (its own reconciliation run, every comparison stored), so an audit is evidence too."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from revcert.certification.shop_day_revenue import ShopRuleError
from revcert.extraction.errors import ExtractionError
from revcert.extraction.shopify_client import ShopAccess, ShopifyClient
from revcert.reconciliation.ledger import ReconciliationSummary, close_reconciliation, open_reconciliation
from revcert.reconciliation.shop_comparison import Comparison
from revcert.reconciliation.source import reconcile_and_record
from revcert.settings import Settings
from revcert.warehouse.connection import connect

AUDIT = "revcert shop audit"


@dataclass(frozen=True)
class Audit:
    summary: ReconciliationSummary
    comparisons: list[Comparison]

    @property
    def discrepancies(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.is_discrepancy]


def audit_shop(dsn: str, access: ShopAccess, first_day: date, last_day: date, settings: Settings | None = None
               ) -> Audit:
    """Compare one shop's published days `first_day`..`last_day` with the source, and keep the comparison.

    Raises:
        ExtractionError, ShopRuleError: the source failed, refused, or sent an order breaking a rule (the
            audit is recorded as failed, naming why).
    """
    settings = settings or Settings()
    now = datetime.now(timezone.utc)
    days = (last_day - first_day).days + 1
    with connect(dsn) as conn:
        run_id = open_reconciliation(conn, AUDIT, f"audit__{access.shop_id}__{now.isoformat()}", as_of_date=last_day,
                                     days=days, fraction=Decimal(1), all_shops=False, seed=0, shops_active=1,
                                     shops_sampled=[access.shop_id])
    with ShopifyClient(access, settings) as client:
        try:
            outcome = reconcile_and_record(dsn, client, run_id, access.shop_id, days=days, first_day=first_day,
                                           last_day=last_day, now=now)
        except (ExtractionError, ShopRuleError):
            with connect(dsn) as conn:
                close_reconciliation(conn, run_id)  # recorded as failed, naming why
            raise
    with connect(dsn) as conn:
        summary = close_reconciliation(conn, run_id)
    return Audit(summary, outcome.comparisons)
