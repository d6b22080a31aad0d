"""Check 4 on an incremental build sums afresh only the customers it derives anew: every other customer's part of
the bridge and cohorts is the one in the sums its proof was made with (revcert.certification.detail_proofs)."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from revcert.certification import independent_derivation
from revcert.certification.detail_proofs import read_proofs, record_proofs
from revcert.certification.figure_comparison import compare_with_mart
from revcert.certification.fingerprint import detail_digests
from revcert.certification.independent_derivation import (
    CustomerDetail,
    DerivedFigures,
    ProvenSums,
    StagedOrg,
    contribution_months,
    contribution_text,
    derive_figures,
    months_through,
    read_staging,
)
from revcert.certification.record import open_certification
from revcert.methodology.mart import build_mart
from revcert.settings import Settings
from tests.certification.test_customer_detail import FOUR_CUSTOMERS_AS_OF, four_customers

pytestmark = pytest.mark.integration

AS_OF, GRACE = date(2026, 11, 21), Settings().renewal_grace_days


class Derivation:
    """An org's figures derived as check 4 would after the org it was last proven on: the customers whose inputs
    differ from their proof's are derived and summed anew, the others left in the proven sums."""

    def __init__(self, org: StagedOrg, proven_after: Derivation | None = None, processes: int = 1) -> None:
        self.details: dict[str, CustomerDetail] = {}
        if proven_after is None:
            self.figures = derive_figures(org, AS_OF, GRACE, (), self._take)
            self.contributions = {c: d.contribution for c, d in self.details.items()}
            return
        before = proven_after
        proven = ProvenSums(before.figures.total, frozenset(before.details),
                            lambda customer_ids: [before.contributions[c] for c in customer_ids])
        self.figures = derive_figures(org, AS_OF, GRACE, (), self._take, lambda c, digest: digest != (
            before.details[c].inputs_digest if c in before.details else None), proven=proven, processes=processes)
        self.contributions = {c: d.contribution if d.derived else before.contributions[c]
                              for c, d in self.details.items()}

    def _take(self, detail: CustomerDetail) -> None:
        self.details[detail.customer_id] = detail

    @property
    def summed_anew(self) -> set[str]:
        return {c for c, d in self.details.items() if d.derived}


def staged_after(conn: psycopg.Connection, *changes: str) -> StagedOrg:
    for change in changes:
        conn.execute(change)
    return read_staging(conn)


def assert_equal_figures(derived: DerivedFigures, fresh: DerivedFigures) -> None:
    for table, rows in fresh.by_mart_table().items():
        assert derived.by_mart_table()[table] == rows, table


def test_a_customers_part_of_the_sums_is_its_months_as_customer_months_gives_them(staged_default_org):
    with psycopg.connect(staged_default_org) as conn:
        org = read_staging(conn)
    details = Derivation(org).details
    assert len({d.contribution for d in details.values()}) > 100
    # Each customer's months again, from the text alone, month after month from its cohort (a month without
    # figures is no detail row): starting and ending MRR, movement, revenue.
    for detail in list(details.values())[::7]:
        unit, months = contribution_months(detail.contribution)
        cohort = months[0].month
        assert (unit, cohort) == (detail.months[0].business_unit, detail.months[0].month)
        rows = {(row.month.year - cohort.year) * 12 + row.month.month - cohort.month: row for row in detail.months}
        assert max(rows) < len(months)
        assert [m[2:] for m in months] == [
            (rows[at].starting_mrr * 100, rows[at].ending_mrr * 100, rows[at].movement_type,
             rows[at].movement_amount * 100, rows[at].recognized_revenue * 100) if at in rows else (0, 0, "none", 0, 0)
            for at in range(len(months))]
    months = [m._replace(month=date(2025, 1, 1)) for m in contribution_months('["NA","2025-01-01",[[2,500,0]]]')[1]]
    assert contribution_text("NA", months) == '["NA","2025-01-01",[[2,500,0]]]'
    assert [m.movement for m in months] == ["new", "none"]


@pytest.mark.parametrize("processes", [1, 3])
def test_check_four_sums_afresh_only_the_customers_it_derives_and_equals_a_full_derivation(staged_default_org,
                                                                                            processes, monkeypatch):
    """Changes that reach one customer, many, the org's first cohort and a business unit of one customer: each
    round, the figures from the proven sums equal a derivation of every customer, in one process or split between
    three (the generated org is small: the lines each process needs are lowered to split it)."""
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 100)
    with psycopg.connect(staged_default_org) as conn:
        first = Derivation(read_staging(conn))
        customers = sorted(first.details)
        cohort_of = {c: first.details[c].months[0].month for c in customers}
        earliest = [c for c in customers if cohort_of[c] == min(cohort_of.values())]  # the org's first cohort
        their_lines = [line.subscription_line_id for c in earliest for line in first.details[c].lines]
        # Some of them stopped for good before the as-of month: taking them out takes out their stopped months too.
        assert any(len(contribution_months(first.contributions[c])[1]) < len(months_through(cohort_of[c], AS_OF))
                   for c in earliest)
        mover, repriced = customers[10], customers[20]
        # Round 1: the lines of the org's first cohort deleted, a line repriced, a customer moved to a business unit
        # of its own, a currency's conversion rates corrected (its customers).
        org = staged_after(
            conn,
            f"update staging.stg_subscription_line set is_deleted = true "
            f"where subscription_line_id = any(array{their_lines})",
            "update staging.stg_subscription_line set net_price = net_price + 1 where subscription_line_id = "
            f"(select min(subscription_line_id) from staging.stg_subscription_line where account_id = '{repriced}')",
            f"update staging.stg_account set business_unit = 'PACIFIC' where account_id = '{mover}'",
            "update staging.stg_dated_conversion_rate set conversion_rate = conversion_rate * 1.01 where iso_code = "
            "(select min(currency_iso_code) from staging.stg_subscription_line where currency_iso_code <> 'USD')")
        second = Derivation(org, proven_after=first, processes=processes)
        fresh = derive_figures(org, AS_OF, GRACE)
        assert_equal_figures(second.figures, fresh)
        assert {repriced, mover} <= second.summed_anew and not second.details.keys() & earliest
        assert 2 < len(second.summed_anew) < len(customers) // 2
        assert any(unit == "PACIFIC" for _, unit in fresh.bridge)
        assert min(fresh.bridge_total) > min(first.figures.bridge_total)  # the earliest month went with it
        # Round 2, proven on round 1's sums: the business unit of one empties again, the first cohort is back.
        org = staged_after(
            conn,
            f"update staging.stg_account set business_unit = 'NA' where account_id = '{mover}'",
            f"update staging.stg_subscription_line set is_deleted = false "
            f"where subscription_line_id = any(array{their_lines})")
        third = Derivation(org, proven_after=second, processes=processes)
        assert third.summed_anew == {mover, *earliest}
        assert_equal_figures(third.figures, derive_figures(org, AS_OF, GRACE))
        assert not any(unit == "PACIFIC" for _, unit in third.figures.bridge)
        assert min(third.figures.bridge_total) == min(first.figures.bridge_total)
        conn.rollback()


def test_check_four_compares_the_bridge_from_the_proven_sums_so_a_wrong_total_or_part_fails_it(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        four_customers().write(conn)
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [])
        certification_id = open_certification(conn, "test", "proven sums", FOUR_CUSTOMERS_AS_OF)

        def compared() -> tuple:
            proofs = read_proofs(conn, FOUR_CUSTOMERS_AS_OF, GRACE, True, lambda: detail_digests(conn))
            return proofs, compare_with_mart(conn, read_staging(conn), FOUR_CUSTOMERS_AS_OF, GRACE, [], proofs)

        proofs, comparison = compared()
        assert (proofs.proven, comparison.differences) == (None, [])
        record_proofs(conn, proofs, certification_id)
        # A line repriced at the source and in the mart: its customer summed anew, the others from the total.
        conn.execute("update staging.stg_subscription_line set net_price = 2400 where account_id = '001a'")
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [], whole_because="the test rebuilds the mart")
        proofs, comparison = compared()
        assert proofs.proven.customers == {"001A", "001B", "001a", "001b"}
        assert (comparison.differences, proofs.compared) == ([], {"001a"})
        record_proofs(conn, proofs, certification_id)
        # A cent more in the proven total (the as-of month's ending MRR in NA), or in the part of the customer
        # taken out (its ending MRR, both months): the bridge differs by that cent.
        total = json.loads(conn.execute("select total from certification.proven_sums").fetchone()[0])
        total["bridge"]["NA"][0][7] += 1
        for tampering in (("update certification.proven_sums set total = %s", [json.dumps(total)]),
                          ("update certification.customer_detail_proof set sums_contribution = "
                           "replace(sums_contribution, '[2,20000,', '[2,20001,') where customer_id = '001a' "
                           "and sums_contribution like '%%[2,20000,%%'", [])):
            with conn.transaction(force_rollback=True):
                assert conn.execute(*tampering).rowcount == 1
                conn.execute("update staging.stg_subscription_line set net_price = 1200 where account_id = '001a'")
                build_mart(conn, FOUR_CUSTOMERS_AS_OF, [], whole_because="the test rebuilds the mart")
                proofs, comparison = compared()
                assert proofs.compared == {"001a"}
                assert {(d.table, d.figure) for d in comparison.differences} >= {
                    ("mart_mrr_bridge", "ending_mrr"), ("mart_mrr_bridge_total", "ending_mrr")}
                assert {abs(d.difference) for d in comparison.differences
                        if d.table == "mart_mrr_bridge_total" and d.figure == "ending_mrr"} == {Decimal("0.01")}
        # A customer gone: taken out of the sums, and out of the proofs and the sums recorded after it.
        conn.execute("delete from staging.stg_subscription_line where account_id = '001A'")
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [], whole_because="the test rebuilds the mart")
        proofs, comparison = compared()
        assert (comparison.differences, proofs.compared, comparison.customers) == ([], set(), 3)
        record_proofs(conn, proofs, certification_id)
        conn.execute("update staging.stg_subscription_line set net_price = 3600 where account_id = '001b'")
        build_mart(conn, FOUR_CUSTOMERS_AS_OF, [], whole_because="the test rebuilds the mart")
        proofs, comparison = compared()
        assert proofs.proven.customers == {"001B", "001a", "001b"}
        assert (comparison.differences, proofs.compared) == ([], {"001b"})
