"""The detail behind the bridge, worked by hand: customers, their lines and contracts, in the mart and in the
independent derivation, and the check that holds the detail to the bridge and to its lines."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from revcert.certification import figure_comparison
from revcert.certification.checks import check_detail_sums, check_independent_derivation
from revcert.certification.detail_proofs import read_proofs, record_proofs
from revcert.certification.figure_comparison import compare_with_mart, read_mart_table
from revcert.certification.fingerprint import detail_digests
from revcert.certification.independent_derivation import CustomerDetail, derive_figures, read_staging
from revcert.certification.record import open_certification
from revcert.methodology.mart import build_mart
from revcert.methodology.overrides import ClassificationOverride
from revcert.settings import Settings
from revcert.warehouse.schema import CUSTOMER_DETAIL
from tests.methodology.golden_cases import as_of_date, churn_and_winback, renewal_on_another_account
from tests.org_builder import OrgBuilder

pytestmark = pytest.mark.integration

D = Decimal


def account_id(org: OrgBuilder, name: str) -> str:
    return next(a[0] for a in org.accounts if a[2] == name)


def built(conn: psycopg.Connection, org: OrgBuilder, as_of: date, overrides=()) -> dict:
    """The mart's detail tables, after checking the derivation gives every row of them."""
    org.write(conn)
    build_mart(conn, as_of, list(overrides))
    differences = compare_with_mart(conn, read_staging(conn), as_of, Settings().renewal_grace_days,
                                    list(overrides)).differences
    assert differences == []
    return {table.name: read_mart_table(conn, table) for table in CUSTOMER_DETAIL}


def month_row(unit: str, name: str, snapshot: str, starting: str, movement: str, amount: str, ending: str,
              revenue: str) -> dict:
    return {"business_unit": unit, "customer_name": name, "currency": "USD",
            "snapshot_date": date.fromisoformat(snapshot), "starting_mrr": D(starting), "movement_type": movement,
            "movement_amount": D(amount), "ending_mrr": D(ending), "recognized_revenue": D(revenue)}


def test_a_renewal_on_another_account_is_one_customer_down_to_its_lines_and_contracts(warehouse_url):
    case = renewal_on_another_account()
    org = case.org
    us, eu = account_id(org, "Delta US"), account_id(org, "Delta EU")
    (c1, *_), (c2, *_) = org.contracts
    line1, line2 = (line[0] for line in org.lines)
    with psycopg.connect(warehouse_url) as conn:
        mart = built(conn, org, as_of_date(case))

    months = mart["mart_customer_month"]
    # 24,000 a year from 2025-07-01, renewed at 30,000 from 2026-07-01 on Delta EU: still Delta US's (A3), in NA.
    assert sorted(months) == [(date(2025, m, 1), us) for m in range(7, 13)] + [(date(2026, m, 1), us)
                                                                             for m in range(1, 8)]
    assert months[(date(2025, 7, 1), us)] == month_row("NA", "Delta US", "2025-07-31", "0.00", "new", "2000.00",
                                                       "2000.00", "2000.00")
    assert months[(date(2026, 6, 1), us)] == month_row("NA", "Delta US", "2026-06-30", "2000.00", "none", "0.00",
                                                       "2000.00", "2000.00")
    assert months[(date(2026, 7, 1), us)] == month_row("NA", "Delta US", "2026-07-31", "2000.00", "expansion",
                                                       "500.00", "2500.00", "2500.00")

    lines = mart["mart_customer_line"]
    assert lines[(line1,)] | {"product_id": None, "product_name": None} == {
        "customer_id": us, "contract_id": c1, "product_id": None, "product_name": None, "currency_iso_code": "USD",
        "conversion_rate": D("1"), "line_mrr": D("2000.00"), "service_start_date": date(2025, 7, 1),
        "service_end_date": date(2026, 6, 30), "mrr_end_date": date(2026, 6, 30)}
    assert lines[(line2,)]["customer_id"] == us and lines[(line2,)]["line_mrr"] == D("2500.00")
    assert lines[(line1,)]["product_name"] == "recurring"

    contracts = mart["mart_customer_contract"]
    assert contracts[(c1,)] == {"customer_id": us, "account_id": us, "start_date": date(2025, 7, 1),
                                "end_date": date(2026, 6, 30), "renews_contract_ids": [], "is_overridden": False,
                                "override_reason": None, "override_approver": None}
    assert contracts[(c2,)]["customer_id"] == us and contracts[(c2,)]["account_id"] == eu
    assert contracts[(c2,)]["renews_contract_ids"] == [c1]


def test_months_of_nothing_after_a_churn_are_not_detail(warehouse_url):
    case = churn_and_winback()
    golf = account_id(case.org, "Golf")
    with psycopg.connect(warehouse_url) as conn:
        months = built(conn, case.org, as_of_date(case))["mart_customer_month"]
    # 1,000 a month January to March 2025, gone in April, back at 500 in September.
    assert sorted(month for month, _ in months) == [date(2025, m, 1) for m in (1, 2, 3, 4, 9)]
    assert months[(date(2025, 4, 1), golf)] == month_row("NA", "Golf", "2025-04-30", "1000.00", "churn",
                                                         "-1000.00", "0.00", "0.00")
    assert months[(date(2025, 9, 1), golf)]["movement_type"] == "winback"


def test_an_override_is_published_with_its_reason_and_approver(warehouse_url):
    org = OrgBuilder()
    kilo, lima = org.account("Kilo", "NA"), org.account("Lima", "EMEA")
    first = org.contract(kilo, "2026-01-01", "2026-12-31")
    org.line(first, "1200.00")
    moved = org.contract(lima, "2026-03-01", "2027-02-28")
    org.line(moved, "2400.00")
    override = ClassificationOverride(moved, kilo, "acquired by Kilo, finance ticket FIN-12", "cfo@example.com")
    with psycopg.connect(warehouse_url) as conn:
        mart = built(conn, org, date(2026, 3, 31), [override])
    assert mart["mart_customer_contract"][(moved,)] | {"start_date": None, "end_date": None} == {
        "customer_id": kilo, "account_id": lima, "start_date": None, "end_date": None, "renews_contract_ids": [],
        "is_overridden": True, "override_reason": "acquired by Kilo, finance ticket FIN-12",
        "override_approver": "cfo@example.com"}
    assert mart["mart_customer_month"][(date(2026, 3, 1), kilo)]["ending_mrr"] == D("300.00")


def test_the_detail_adds_up_to_the_bridge_and_to_its_lines_or_the_check_names_the_customer(warehouse_url):
    case = renewal_on_another_account()
    us = account_id(case.org, "Delta US")
    line2 = case.org.lines[1][0]
    with psycopg.connect(warehouse_url) as conn:
        built(conn, case.org, as_of_date(case))
        passed = check_detail_sums(conn)
        assert passed.passed is True and passed.discrepancies == []

        conn.execute("update mart.mart_customer_month set ending_mrr = ending_mrr + 0.01 "
                     "where month = '2026-07-01' and customer_id = %s", [us])
        one_cent = check_detail_sums(conn)
        assert one_cent.passed is False
        # The bridge (actual) against the sum of its customers (expected); the customer against its lines.
        assert [(d["business_unit"], d["figure"], d["expected"], d["actual"], d["difference"])
                for d in one_cent.discrepancies] == [
            ("NA", "ending_mrr", D("2500.01"), D("2500.00"), D("-0.01")),
            ("TOTAL", "ending_mrr", D("2500.01"), D("2500.00"), D("-0.01")),
            ("NA", "ending_mrr", D("2500.00"), D("2500.01"), D("0.01"))]
        assert one_cent.discrepancies[2]["customer_id"] == us and one_cent.discrepancies[2]["record_ids"] == [us]
        conn.rollback()

        built(conn, case.org, as_of_date(case))
        conn.execute("update mart.mart_customer_line set line_mrr = 2400.00 where subscription_line_id = %s",
                     [line2])
        wrong_line = check_detail_sums(conn)
        assert wrong_line.passed is False
        assert [(d["month"], d["customer_id"], d["figure"], d["expected"], d["actual"])
                for d in wrong_line.discrepancies] == [(date(2026, 7, 1), us, "ending_mrr", D("2400.00"),
                                                        D("2500.00"))]
        conn.rollback()

        built(conn, case.org, as_of_date(case))
        conn.execute("delete from mart.mart_customer_month where month = '2026-07-01'")
        missing = check_detail_sums(conn)
        assert {(d["business_unit"], d["figure"]) for d in missing.discrepancies} >= {
            ("NA", "expansion"), ("TOTAL", "ending_mrr"), ("NA", "active_customers")}


def test_the_derivation_names_the_customer_line_and_figure_it_disagrees_on(warehouse_url):
    case = renewal_on_another_account()
    line1 = case.org.lines[0][0]
    with psycopg.connect(warehouse_url) as conn:
        built(conn, case.org, as_of_date(case))
        conn.execute("update mart.mart_customer_line set conversion_rate = 0.9 where subscription_line_id = %s",
                     [line1])
        result = check_independent_derivation(conn, as_of_date(case), Settings().renewal_grace_days, [])
    assert result.passed is False
    assert [(d["table"], d["subscription_line_id"], d["figure"], d["expected"], d["actual"])
            for d in result.discrepancies] == [("mart_customer_line", line1, "conversion_rate", D("1"), D("0.9"))]


FOUR_CUSTOMERS_AS_OF = date(2026, 2, 28)


def four_customers() -> OrgBuilder:
    org = OrgBuilder()
    # Upper case sorts before lower case in code points (and in "C"), not in a natural-language collation.
    for account in ("001b", "001B", "001a", "001A"):
        org.line(org.contract(org.account(f"Account {account}", "NA", account_id=account), "2026-01-01",
                              "2026-12-31"), "1200.00")
    return org


def alter_the_mart(conn: psycopg.Connection) -> None:
    """A customer's line gone, another's name changed, and rows of customers the derivation has none of:
    between two of its customers, and after the last."""
    conn.execute("delete from mart.mart_customer_line where customer_id = '001B'")
    conn.execute("update mart.mart_customer_month set customer_name = 'Renamed' where customer_id = '001a'")
    for ghost in ("001Aa", "001c"):
        conn.execute("insert into mart.mart_customer_month select month, %s, business_unit, customer_name, "
                     "currency, snapshot_date, starting_mrr, movement_type, movement_amount, ending_mrr, "
                     "recognized_revenue from mart.mart_customer_month where customer_id = '001A'", [ghost])


def assert_the_alterations_are_named(differences: list) -> None:
    real = [d for d in differences if d.where.get("customer_id") not in ("001Aa", "001c")]
    assert {(d.table, d.figure, d.mart, d.derived) for d in real if d.figure in ("line_mrr", "customer_name")} == {
        ("mart_customer_line", "line_mrr", None, D("100.00")),
        ("mart_customer_month", "customer_name", "Renamed", "Account 001a")}
    ghosts = {(d.where["customer_id"], d.where["month"]) for d in differences if d.figure == "ending_mrr"}
    assert ghosts == {(ghost, date(2026, m, 1)) for ghost in ("001Aa", "001c") for m in (1, 2)}


def test_the_derivation_hands_over_each_customer_once_in_the_order_postgresql_sorts_them_in_c(warehouse_url):
    org = four_customers()
    seen: list[CustomerDetail] = []
    derive_figures(org.staged_org(), FOUR_CUSTOMERS_AS_OF, Settings().renewal_grace_days, (), seen.append)
    assert [d.customer_id for d in seen] == ["001A", "001B", "001a", "001b"]
    assert all(len(d.months) == 2 and len(d.lines) == 1 and len(d.contracts) == 1 for d in seen)
    with psycopg.connect(warehouse_url) as conn:
        org.write(conn)
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [])
        assert compare_with_mart(conn, read_staging(conn), FOUR_CUSTOMERS_AS_OF, Settings().renewal_grace_days,
                                 []).differences == []
        alter_the_mart(conn)
        differences = compare_with_mart(conn, read_staging(conn), FOUR_CUSTOMERS_AS_OF,
                                        Settings().renewal_grace_days, []).differences
    assert_the_alterations_are_named(differences)


def test_a_proof_spares_a_customer_only_while_its_inputs_and_rows_are_those_its_full_comparison_found_equal(
        warehouse_url, monkeypatch):
    monkeypatch.setattr(figure_comparison, "CUSTOMERS_PER_READ", 2)  # the customers compared are read in batches
    grace = Settings().renewal_grace_days
    with psycopg.connect(warehouse_url) as conn:
        four_customers().write(conn)
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [])
        certification_id = open_certification(conn, "test", "proofs", FOUR_CUSTOMERS_AS_OF)

        def compared(as_of: date = FOUR_CUSTOMERS_AS_OF) -> tuple:
            proofs = read_proofs(conn, as_of, grace, True, lambda: detail_digests(conn))
            comparison = compare_with_mart(conn, read_staging(conn), as_of, grace, [], proofs)
            return proofs, comparison

        # No proofs yet: every customer compared, each by its digest alone (the derivation writes its rows as the
        # server writes the mart's); then each has a proof.
        proofs, comparison = compared()
        assert (proofs.scoped, comparison.differences, comparison.customers_compared, comparison.customers_read) == (
            False, [], 4, 0)
        record_proofs(conn, proofs, certification_id)
        proofs, comparison = compared()
        assert (proofs.scoped, comparison.differences, comparison.customers_compared, comparison.customers) == (
            True, [], 0, 4)
        # Another as-of date is another basis: no proof holds (and the mart, built for February, differs).
        assert compared(date(2026, 3, 31))[1].customers_compared == 4
        # Rows altered in the mart, and a customer's staged record: exactly those customers compared, their digests
        # differ, their rows are read, and every alteration is named as a full comparison names it.
        alter_the_mart(conn)
        conn.execute("update staging.stg_account set account_name = 'Account 001b, renamed' "
                     "where account_id = '001b'")
        proofs, comparison = compared()
        assert proofs.compared == {"001B", "001a", "001b"} and comparison.customers_read == 3
        # Check 3 holds to their lines the customers whose rows are not their proof's: 001B's months without their
        # line, and the ghosts' months without any, break there; the renamed customer holds.
        assert proofs.detail_changed() == ["001Aa", "001B", "001a", "001c"]
        lineage_breaks = {d["customer_id"] for d in check_detail_sums(conn, proofs.detail_changed()).discrepancies
                          if "customer_id" in d}
        assert lineage_breaks == {"001Aa", "001B", "001c"}
        assert check_detail_sums(conn, ["001A", "001b"]).discrepancies == check_detail_sums(conn, []).discrepancies
        assert_the_alterations_are_named([d for d in comparison.differences if d.where.get("customer_id") != "001b"])
        assert {(d.table, d.figure, d.mart, d.derived) for d in comparison.differences
                if d.where.get("customer_id") == "001b"} == {
            ("mart_customer_month", "customer_name", "Account 001b", "Account 001b, renamed")}
        # A customer whose lines are gone has no detail, and loses its proof when proofs are next recorded.
        conn.execute("delete from staging.stg_subscription_line where account_id = '001A'")
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [], whole_because="the test restores the mart")
        proofs, comparison = compared()
        assert (comparison.differences, proofs.compared) == ([], {"001b"})
        record_proofs(conn, proofs, certification_id)
        assert {row[0] for row in conn.execute("select customer_id from certification.customer_detail_proof")} == {
            "001B", "001a", "001b"}
