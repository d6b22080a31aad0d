"""Check 5: a shadow metric beside production, its differences worked by hand, reported and never blocking."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import psycopg
import pytest

from revcert.certification.certify import _conclude
from revcert.certification.record import CheckResult, open_certification, read_certification
from revcert.certification.shadows import check_shadow_views
from revcert.methodology.mart import build_mart
from tests.methodology.golden_cases import GoldenCase, as_of_date, late_renewal_inside_grace, late_renewal_without_link

pytestmark = pytest.mark.integration

D = Decimal


def shadow_check(warehouse_url: str, case: GoldenCase) -> CheckResult:
    """Check 5 on the mart built from a case's org."""
    with psycopg.connect(warehouse_url) as conn:
        case.org.write(conn)
        build_mart(conn, as_of_date(case), [])
        return check_shadow_views(conn)


def differences(result: CheckResult) -> list[tuple]:
    """Each figure the shadow differs on: (month, figure, production, shadow, difference)."""
    return [(d["month"], d["figure"], d["production"], d["shadow_value"], d["difference"])
            for d in result.discrepancies]


def test_without_the_renewal_grace_a_late_renewal_is_a_churn_and_a_winback(warehouse_url):
    case = late_renewal_inside_grace()
    result = shadow_check(warehouse_url, case)
    # 500 a month to 2026-03-20, renewed at 600 from 2026-04-10. With the grace, March ends at 500 and April
    # expands by 100; without it, March churns 500 and April wins 600 back.
    assert result.passed is True
    assert differences(result) == [
        (date(2026, 3, 1), "churn", D("0.00"), D("-500.00"), D("-500.00")),
        (date(2026, 3, 1), "ending_mrr", D("500.00"), D("0.00"), D("-500.00")),
        (date(2026, 4, 1), "starting_mrr", D("500.00"), D("0.00"), D("-500.00")),
        (date(2026, 4, 1), "expansion", D("100.00"), D("0.00"), D("-100.00")),
        (date(2026, 4, 1), "winback", D("0.00"), D("600.00"), D("600.00"))]
    assert all(d["shadow"] == "mrr_bridge_without_renewal_grace" for d in result.discrepancies)
    assert result.summary == "mrr_bridge_without_renewal_grace: 5 figure(s) differ from production in 2 row(s)"


def test_a_customer_without_grace_counts_in_the_shadow_as_in_production(warehouse_url):
    case = late_renewal_inside_grace()
    kilo = case.org.contract(case.org.account("Kilo", "NA"), "2026-02-01", "2026-03-31")
    case.org.line(kilo, "1200.00")
    case.org.line(kilo, "600.00", start="2026-03-01", end="2026-03-31")
    result = shadow_check(warehouse_url, case)
    # Kilo, no grace: new at 100 in February, expands by 50 in March, churns 150 in April, with or without grace.
    # Its figures are in both sides, so only Charlie's renewal timing differs, on top of Kilo's.
    assert differences(result) == [
        (date(2026, 3, 1), "churn", D("0.00"), D("-500.00"), D("-500.00")),
        (date(2026, 3, 1), "ending_mrr", D("650.00"), D("150.00"), D("-500.00")),
        (date(2026, 4, 1), "starting_mrr", D("650.00"), D("150.00"), D("-500.00")),
        (date(2026, 4, 1), "expansion", D("100.00"), D("0.00"), D("-100.00")),
        (date(2026, 4, 1), "winback", D("0.00"), D("600.00"), D("600.00"))]


def test_without_a_grace_to_apply_the_shadow_equals_production(warehouse_url):
    case = late_renewal_without_link()
    result = shadow_check(warehouse_url, case)
    assert (result.passed, result.discrepancies) == (True, [])
    assert result.summary == "mrr_bridge_without_renewal_grace: equal to production"


def test_a_shadow_that_could_not_run_never_keeps_a_run_from_being_certified(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        certification_id = open_certification(conn, "certified_mrr", "shadow-crash", date(2026, 4, 30))
        record = read_certification(conn, certification_id)
        passed = [CheckResult(name, True, "held") for name in ("completeness", "integrity", "movement_identity",
                                                                "detail_sums", "independent_derivation")]
        _conclude(conn, record, [*passed, CheckResult("shadow_views", False, "the check could not finish")], "h")
        concluded = read_certification(conn, certification_id)
        assert concluded.status == "certified" and concluded.checks["shadow_views"].passed is False
        blocking = open_certification(conn, "certified_mrr", "identity-broken", date(2026, 4, 30))
        _conclude(conn, read_certification(conn, blocking),
                  [*passed[:2], CheckResult("movement_identity", False, "broken"), *passed[3:]], "h")
        assert read_certification(conn, blocking).status == "failed"
    assert datetime.now(timezone.utc) >= concluded.certified_at
