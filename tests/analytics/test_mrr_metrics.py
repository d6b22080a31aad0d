"""The analytics layer's metrics on a small org worked by hand, computed from what publishing put in viz."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import psycopg
import pytest
from psycopg.rows import dict_row

from revcert.analytics.metrics import refresh_metrics
from revcert.certification.fingerprint import figures_hash
from revcert.certification.record import open_certification, update_certification
from revcert.methodology.mart import build_mart
from revcert.publishing.mrr_bridge import publish_certified_figures
from tests.org_builder import OrgBuilder

pytestmark = pytest.mark.integration

AS_OF = date(2026, 3, 31)
MARCH = date(2026, 3, 1)


def renewals_org() -> OrgBuilder:
    """Five customers, 12-month contracts (MRR = annual price / 12), as of 2026-03-31.

    NA    A  100 from 2025-03, renewed 2026-03 at 150      expansion +50 in March 2026
    NA    B  200 from 2025-03, not renewed                 churn -200
    EMEA  C  300 from 2025-03, renewed 2026-03 at 200      contraction -100
    NA    D   50 from 2026-03                              new +50
    NA    E  100 from 2025-06 to 2026-05                   unchanged
    """
    org = OrgBuilder()
    a, b, c = org.account("A", "NA"), org.account("B", "NA"), org.account("C", "EMEA")
    d, e = org.account("D", "NA"), org.account("E", "NA")
    a1 = org.contract(a, "2025-03-01", "2026-02-28")
    org.line(a1, "1200.00")
    org.line(org.contract(a, "2026-03-01", "2027-02-28", renews=a1), "1800.00")
    org.line(org.contract(b, "2025-03-01", "2026-02-28"), "2400.00")
    c1 = org.contract(c, "2025-03-01", "2026-02-28")
    org.line(c1, "3600.00")
    org.line(org.contract(c, "2026-03-01", "2027-02-28", renews=c1), "2400.00")
    org.line(org.contract(d, "2026-03-01", "2027-02-28"), "600.00")
    org.line(org.contract(e, "2025-06-01", "2026-05-31"), "1200.00")
    return org


def published_metrics(url: str) -> tuple[dict, dict]:
    with psycopg.connect(url) as conn:
        renewals_org().write(conn)
        build_mart(conn, AS_OF, [])
        certification_id = open_certification(conn, "certified_mrr", "hand-worked", AS_OF)
        update_certification(conn, certification_id, status="certified", figures_hash=figures_hash(conn),
                             certified_at=datetime.now(timezone.utc))
        conn.commit()
        publish_certified_figures(conn, certification_id, figures_hash(conn), latest_publishable=AS_OF)
        work_mem = conn.execute("show work_mem").fetchone()[0]
        assert refresh_metrics(conn) > 0
        # More memory for the metrics' statement only: the rest of the transaction has the session's again.
        assert conn.execute("show work_mem").fetchone()[0] == work_mem
        with conn.cursor(row_factory=dict_row) as cursor:
            by_unit = {(r["month"], r["business_unit"]): r
                       for r in cursor.execute("select * from analytics.mrr_metrics")}
            total = {r["month"]: r for r in cursor.execute("select * from analytics.mrr_metrics_total")}
    return by_unit, total


def figures(row: dict, *names: str) -> tuple:
    return tuple(row[name] for name in names)


COUNTS = ("active_customers", "starting_customers", "new_customers", "expansion_customers", "contraction_customers",
          "churned_customers", "winback_customers")
RATIOS = ("logo_churn_pct", "average_mrr_per_customer", "nrr_pct", "grr_pct")
TWELVE_MONTHS = ("trailing_base_mrr", "trailing_net_mrr", "trailing_gross_mrr", "nrr_12m_pct", "grr_12m_pct")


def test_march_2026_in_total_as_worked_by_hand(warehouse_url):
    _, total = published_metrics(warehouse_url)
    march = total[MARCH]
    # Ending MRR 150 + 0 + 200 + 50 + 100 = 500; ARR 12 x 500.
    assert figures(march, "ending_mrr", "arr", "currency") == (Decimal("500.00"), Decimal("6000.00"), "USD")
    # Active A, C, D, E; with starting MRR A, B, C, E; one customer of each movement but winback.
    assert figures(march, *COUNTS) == (4, 4, 1, 1, 1, 1, 0)
    # Logo churn 1/4; average 500/4; NRR (700 + 50 - 100 - 200)/700 = 64.29%; GRR (700 - 300)/700 = 57.14%.
    assert figures(march, *RATIOS) == (Decimal("25.0"), Decimal("125.00"), Decimal("64.3"), Decimal("57.1"))
    # Twelve months: the customers with MRR in March 2025 (A, B, C: 600) have 150 + 0 + 200 = 350 now;
    # capped at their MRR then, 100 + 0 + 200 = 300. E (from June 2025) is not in that base.
    assert figures(march, *TWELVE_MONTHS) == (Decimal("600.00"), Decimal("350.00"), Decimal("300.00"),
                                              Decimal("58.3"), Decimal("50.0"))
    assert march["certification_ids"] and march["snapshot_date"] == AS_OF


def test_march_2026_by_business_unit_as_worked_by_hand(warehouse_url):
    by_unit, _ = published_metrics(warehouse_url)
    na, emea = by_unit[(MARCH, "NA")], by_unit[(MARCH, "EMEA")]
    # NA: starting A 100 + B 200 + E 100 = 400; ending A 150 + D 50 + E 100 = 300.
    assert figures(na, "ending_mrr", "arr") == (Decimal("300.00"), Decimal("3600.00"))
    assert figures(na, *COUNTS) == (3, 3, 1, 1, 0, 1, 0)
    # NRR (400 + 50 - 200)/400 = 62.5% exactly; GRR 200/400; logo churn 1/3; average 300/3.
    assert figures(na, *RATIOS) == (Decimal("33.3"), Decimal("100.00"), Decimal("62.5"), Decimal("50.0"))
    # March 2025 base A 100 + B 200 = 300: 150 now (50%), capped 100 (33.3%).
    assert figures(na, *TWELVE_MONTHS) == (Decimal("300.00"), Decimal("150.00"), Decimal("100.00"),
                                           Decimal("50.0"), Decimal("33.3"))
    # EMEA: C alone, 300 -> 200: NRR = GRR = 66.7%, no logo lost.
    assert figures(emea, *COUNTS) == (1, 1, 0, 0, 1, 0, 0)
    assert figures(emea, *RATIOS) == (Decimal("0.0"), Decimal("200.00"), Decimal("66.7"), Decimal("66.7"))
    assert figures(emea, "nrr_12m_pct", "grr_12m_pct") == (Decimal("66.7"), Decimal("66.7"))


def test_retention_has_no_value_without_a_base(warehouse_url):
    by_unit, total = published_metrics(warehouse_url)
    first = total[date(2025, 3, 1)]
    # The first month: no customer had starting MRR, and no month twelve months earlier is published.
    assert figures(first, "starting_customers", "nrr_pct", "grr_pct", "logo_churn_pct") == (0, None, None, None)
    assert figures(total[date(2026, 2, 1)], *TWELVE_MONTHS) == (None,) * 5
    assert by_unit[(date(2026, 2, 1), "EMEA")]["nrr_pct"] == Decimal("100.0")
