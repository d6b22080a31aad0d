"""The golden cases of the methodology issue, worked by hand.

Product term 12 unless said; reporting currency USD. Each case gives a staged
org, an as-of date, and the figures a controller worked out: per month and
business unit, the bridge fields named (others are not asserted by the case,
but both implementations must still agree on them), or the error expected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tests.org_builder import OrgBuilder, d


@dataclass
class GoldenCase:
    name: str
    org: OrgBuilder
    as_of: str
    expected: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    absent_units: tuple[str, ...] = ()
    error_rule: str | None = None
    error_ids: tuple[str, ...] = ()
    error_text: tuple[str, ...] = ()
    # (cohort month, business unit or TOTAL, month) -> cohort retention figures, worked by hand.
    cohorts: dict[tuple[str, str, str], dict[str, str | None]] = field(default_factory=dict)


def upgrade_mid_month() -> GoldenCase:
    org = OrgBuilder()
    account = org.account("Acme", "EMEA")
    contract = org.contract(account, "2026-01-01", "2026-12-31")
    org.line(contract, "12000.00")
    org.line(contract, "6000.00", prorate="0.5", start="2026-03-16", end="2026-12-31")
    return GoldenCase("1 upgrade mid-month", org, "2026-04-30", {
        ("2026-01", "EMEA"): {"new": "1000.00", "ending_mrr": "1000.00", "recognized_revenue": "1000.00"},
        ("2026-02", "EMEA"): {"new": "0.00", "expansion": "0.00", "ending_mrr": "1000.00",
                              "recognized_revenue": "1000.00"},
        ("2026-03", "EMEA"): {"expansion": "1000.00", "ending_mrr": "2000.00", "recognized_revenue": "1516.13"},
        ("2026-04", "EMEA"): {"expansion": "0.00", "ending_mrr": "2000.00", "recognized_revenue": "2000.00"},
    })


def same_day_renewal_lower_price() -> GoldenCase:
    org = OrgBuilder()
    account = org.account("Bravo", "NA")
    c1 = org.contract(account, "2025-01-01", "2025-12-31")
    org.line(c1, "12000.00")
    c2 = org.contract(account, "2026-01-01", "2026-12-31", renews=c1, link="opportunity")
    org.line(c2, "9600.00")
    return GoldenCase("2 same-day renewal at a lower price", org, "2026-01-31", {
        ("2026-01", "NA"): {"starting_mrr": "1000.00", "contraction": "-200.00", "ending_mrr": "800.00",
                            "churn": "0.00", "new": "0.00", "winback": "0.00"},
    })


def _late_renewal(linked: bool) -> OrgBuilder:
    org = OrgBuilder()
    account = org.account("Charlie", "NA")
    c1 = org.contract(account, "2025-03-21", "2026-03-20")
    org.line(c1, "6000.00")
    c2 = org.contract(account, "2026-04-10", "2027-04-09", renews=c1 if linked else None)
    org.line(c2, "7200.00")
    return org


def late_renewal_inside_grace() -> GoldenCase:
    return GoldenCase("3 late renewal inside grace", _late_renewal(linked=True), "2026-04-30", {
        ("2025-03", "NA"): {"new": "500.00", "recognized_revenue": "177.42"},
        ("2026-03", "NA"): {"churn": "0.00", "expansion": "0.00", "contraction": "0.00", "ending_mrr": "500.00",
                            "recognized_revenue": "322.58"},
        ("2026-04", "NA"): {"expansion": "100.00", "winback": "0.00", "ending_mrr": "600.00",
                            "recognized_revenue": "420.00"},
    })


def late_renewal_without_link() -> GoldenCase:
    return GoldenCase("4 late renewal without the link", _late_renewal(linked=False), "2026-04-30", {
        ("2026-03", "NA"): {"churn": "-500.00", "ending_mrr": "0.00", "recognized_revenue": "322.58"},
        ("2026-04", "NA"): {"winback": "600.00", "new": "0.00", "recognized_revenue": "420.00"},
    })


def renewal_on_another_account() -> GoldenCase:
    org = OrgBuilder()
    delta_us = org.account("Delta US", "NA")
    delta_eu = org.account("Delta EU", "EMEA")
    c1 = org.contract(delta_us, "2025-07-01", "2026-06-30")
    org.line(c1, "24000.00")
    c2 = org.contract(delta_eu, "2026-07-01", "2027-06-30", renews=c1, link="contract")
    org.line(c2, "30000.00")
    return GoldenCase("5 renewal booked on another account", org, "2026-07-31", {
        ("2026-07", "NA"): {"expansion": "500.00", "ending_mrr": "2500.00", "churn": "0.00"},
    }, absent_units=("EMEA",))


def currency() -> GoldenCase:
    org = OrgBuilder()
    org.rate("EUR", "0.8", "2026-01-01", "2026-07-01")
    org.rate("EUR", "0.9", "2026-07-01", "2027-01-01")
    first = org.contract(org.account("Echo", "EMEA"), "2026-02-01", "2027-01-31")
    org.line(first, "12000.00", currency="EUR")
    second = org.contract(org.account("Foxtrot", "EMEA"), "2026-08-01", "2027-07-31")
    org.line(second, "12000.00", currency="EUR")
    return GoldenCase("6 currency", org, "2026-09-30", {
        ("2026-02", "EMEA"): {"new": "1250.00", "ending_mrr": "1250.00"},
        ("2026-07", "EMEA"): {"expansion": "0.00", "contraction": "0.00", "ending_mrr": "1250.00"},
        ("2026-08", "EMEA"): {"new": "1111.11", "ending_mrr": "2361.11"},
        ("2026-09", "EMEA"): {"new": "0.00", "ending_mrr": "2361.11"},
    })


def churn_and_winback() -> GoldenCase:
    org = OrgBuilder()
    account = org.account("Golf", "NA")
    first = org.contract(account, "2025-01-01", "2025-03-31")
    org.line(first, "3000.00", prorate="0.25")
    second = org.contract(account, "2025-09-01", "2026-08-31")
    org.line(second, "6000.00")
    zeros = {"starting_mrr": "0.00", "ending_mrr": "0.00", "churn": "0.00", "winback": "0.00",
             "recognized_revenue": "0.00", "active_customers": "0"}
    return GoldenCase("7 churn and winback", org, "2025-09-30", {
        ("2025-01", "NA"): {"new": "1000.00"},
        ("2025-04", "NA"): {"churn": "-1000.00", "ending_mrr": "0.00"},
        ("2025-05", "NA"): zeros, ("2025-06", "NA"): zeros, ("2025-07", "NA"): zeros, ("2025-08", "NA"): zeros,
        ("2025-09", "NA"): {"winback": "500.00", "new": "0.00", "ending_mrr": "500.00"},
    })


def inside_one_month() -> GoldenCase:
    org = OrgBuilder()
    contract = org.contract(org.account("Hotel", "NA"), "2026-02-03", "2026-02-20")
    org.line(contract, "560.00", prorate="0.0493150684931507")
    return GoldenCase("8 inside one month", org, "2026-02-28", {
        ("2026-02", "NA"): {"recognized_revenue": "608.34", "new": "0.00", "starting_mrr": "0.00",
                            "ending_mrr": "0.00", "active_customers": "0"},
    })


def termination_and_one_time_charge() -> GoldenCase:
    org = OrgBuilder()
    contract = org.contract(org.account("India", "APAC"), "2026-01-01", "2026-12-31")
    org.line(contract, "12000.00", terminated="2026-05-16")
    org.line(contract, "5000.00", kind="one_time")
    return GoldenCase("9 termination and one-time charge", org, "2026-05-31", {
        ("2026-01", "APAC"): {"new": "1000.00", "ending_mrr": "1000.00", "recognized_revenue": "1000.00"},
        ("2026-05", "APAC"): {"churn": "-1000.00", "recognized_revenue": "483.87", "ending_mrr": "0.00"},
    })


def negative_customer_mrr() -> GoldenCase:
    org = OrgBuilder()
    account = org.account("Juliet", "NA")
    contract = org.contract(account, "2026-01-01", "2026-12-31")
    base = org.line(contract, "12000.00")
    reduction = org.line(contract, "9000.00", quantity="-2", prorate="0.75", start="2026-04-01", end="2026-12-31")
    return GoldenCase("10 negative customer MRR", org, "2026-06-30", error_rule="negative_customer_mrr",
                      error_ids=(account,), error_text=("2026-04-01", base, reduction))


def renewal_cycle() -> GoldenCase:
    org = OrgBuilder()
    account = org.account("Kilo", "NA")
    c1 = org.contract(account, "2025-01-01", "2025-12-31", contract_id="800CYCLE1")
    org.line(c1, "12000.00")
    c2 = org.contract(account, "2026-01-01", "2026-12-31", renews=c1, contract_id="800CYCLE2")
    org.line(c2, "12000.00")
    org.link_renewal(c2, c1)
    return GoldenCase("11 renewal cycle", org, "2026-06-30", error_rule="renewal_cycle", error_ids=(c1, c2))


def as_of_inside_a_month() -> GoldenCase:
    org = OrgBuilder()
    contract = org.contract(org.account("Lima", "NA"), "2026-01-01", "2026-12-31")
    org.line(contract, "12000.00")
    org.line(contract, "1200.00", prorate="0.1", start="2026-11-25", end="2026-12-31")
    return GoldenCase("12 as-of inside a month", org, "2026-11-21", {
        ("2026-11", "NA"): {"ending_mrr": "1000.00", "recognized_revenue": "700.00", "expansion": "0.00"},
    })


def cohort_retention() -> GoldenCase:
    org = OrgBuilder()
    stays = org.contract(org.account("Mike", "NA"), "2026-01-01", "2026-12-31")
    org.line(stays, "12000.00")
    churns = org.contract(org.account("November", "NA"), "2026-01-15", "2026-03-31")
    org.line(churns, "6000.00")
    grows = org.contract(org.account("Oscar", "EMEA"), "2026-01-10", "2026-12-31")
    org.line(grows, "24000.00")
    org.line(grows, "1200.00", start="2026-03-01", end="2026-12-31")
    later = org.contract(org.account("Papa", "NA"), "2026-02-20", "2026-02-27")
    org.line(later, "3000.00")
    return GoldenCase("13 cohort retention", org, "2026-04-30", {
        ("2026-04", "NA"): {"churn": "-500.00", "ending_mrr": "1000.00", "active_customers": "1"},
    }, cohorts={
        ("2026-01", "NA", "2026-01"): {"cohort_customers": "2", "active_customers": "2",
                                       "cohort_starting_mrr": "1500.00", "ending_mrr": "1500.00",
                                       "mrr_retention_pct": "100.0",
                                       "logo_retention_pct": "100.0", "months_since_cohort": "0"},
        ("2026-01", "NA", "2026-03"): {"ending_mrr": "1500.00", "mrr_retention_pct": "100.0"},
        ("2026-01", "NA", "2026-04"): {"active_customers": "1", "ending_mrr": "1000.00", "mrr_retention_pct": "66.7",
                                       "logo_retention_pct": "50.0", "months_since_cohort": "3"},
        ("2026-01", "EMEA", "2026-03"): {"cohort_starting_mrr": "2000.00", "ending_mrr": "2100.00",
                                         "mrr_retention_pct": "105.0"},
        ("2026-01", "TOTAL", "2026-04"): {"cohort_customers": "3", "active_customers": "2",
                                          "cohort_starting_mrr": "3500.00", "ending_mrr": "3100.00",
                                          "mrr_retention_pct": "88.6", "logo_retention_pct": "66.7"},
        # A cohort whose only line ends inside its first month: no MRR at any month end, no MRR retention.
        ("2026-02", "NA", "2026-02"): {"cohort_customers": "1", "active_customers": "0",
                                       "cohort_starting_mrr": "0.00", "mrr_retention_pct": None,
                                       "logo_retention_pct": "0.0"},
    })


CASES = [upgrade_mid_month, same_day_renewal_lower_price, late_renewal_inside_grace, late_renewal_without_link,
         renewal_on_another_account, currency, churn_and_winback, inside_one_month,
         termination_and_one_time_charge, negative_customer_mrr, renewal_cycle, as_of_inside_a_month,
         cohort_retention]


def as_of_date(case: GoldenCase):
    return d(case.as_of)


def expected_value(value: str | None) -> Decimal | int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() and "." not in value else Decimal(value)
