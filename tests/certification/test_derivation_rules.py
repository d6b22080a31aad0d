"""The derivation's rules as pure functions, against hand-worked figures."""
from __future__ import annotations

import gc
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from revcert.certification.independent_derivation import (
    Contract,
    DailyMrr,
    DerivationError,
    Line,
    Rate,
    ServiceInterval,
    classify_movement,
    collector_paused,
    contract_customers,
    customer_months,
    derive_figures,
    grace_days,
    half_even,
    line_mrr_cents,
    money,
    monthly_revenue_cents,
    months_through,
    rate_at,
    service_period,
)
from tests.org_builder import OrgBuilder

D = Decimal


@pytest.mark.parametrize("value, expected", [
    (Fraction(1, 200), "0.00"), (Fraction(3, 200), "0.02"), (Fraction(-1, 200), "0.00"), (Fraction(-3, 200), "-0.02"),
    (Fraction(1000) / 3, "333.33"), (Fraction(2, 3), "0.67"), (Fraction(12345, 1000), "12.34"),
])
def test_rounding_is_half_to_even_to_the_cent(value, expected):
    assert money(half_even(value.numerator * 100, value.denominator)) == D(expected)


@pytest.mark.parametrize("net, quantity, prorate, term, rate, expected", [
    ("12000.00", "1", "1", "12", "1", "1000.00"),
    ("6000.00", "1", "0.5", "12", "1", "1000.00"),
    ("3000.00", "1", "0.25", "12", "1", "1000.00"),
    ("560.00", "1", "0.0493150684931507", "12", "1", "946.30"),
    ("12000.00", "1", "1", "12", "0.8", "1250.00"),
    ("12000.00", "1", "1", "12", "0.9", "1111.11"),
    ("9000.00", "-2", "0.75", "12", "1", "-2000.00"),
    ("1200.00", "1", "0.1", "12", "1", "1000.00"),
])
def test_line_mrr(net, quantity, prorate, term, rate, expected):
    assert money(line_mrr_cents(D(net), D(quantity), D(prorate), D(term), D(rate))) == D(expected)


CONTRACT = Contract("800A", "001A", None, None, date(2026, 1, 1), date(2026, 12, 31))


def line(**kwargs) -> Line:
    values = {"line_id": "L", "contract_id": "800A", "product_id": "P", "currency": "USD", "quantity": D(1),
              "net_price": D(12000), "prorate_multiplier": None, "start": None, "end": None, "terminated": None}
    return Line(**{**values, **kwargs})


def test_service_period_falls_back_to_the_contract_and_stops_the_day_before_termination():
    assert service_period(line(), CONTRACT) == (date(2026, 1, 1), date(2026, 12, 31), False)
    assert service_period(line(terminated=date(2026, 5, 16)), CONTRACT) == (date(2026, 1, 1), date(2026, 5, 15), False)


def test_a_termination_before_the_start_leaves_nothing_to_carry_but_a_bad_end_is_an_error():
    assert service_period(line(start=date(2026, 6, 1), terminated=date(2026, 5, 1)), CONTRACT)[2] is True
    with pytest.raises(DerivationError, match="line_end_before_start"):
        service_period(line(start=date(2026, 6, 1), end=date(2026, 5, 1)), CONTRACT)


@pytest.mark.parametrize("starting, ending, before, expected", [
    ("0", "1000", False, ("new", "1000")), ("0", "1000", True, ("winback", "1000")),
    ("1000", "0", True, ("churn", "-1000")), ("1000", "1500", True, ("expansion", "500")),
    ("1000", "800", True, ("contraction", "-200")), ("1000", "1000", True, ("none", "0")),
    ("0", "0", True, ("none", "0")),
])
def test_movement_classification(starting, ending, before, expected):
    movement, amount = classify_movement(D(starting), D(ending), before)
    assert (movement, amount) == (expected[0], D(expected[1]))


@pytest.mark.parametrize("gap, expected", [(0, 0), (1, 1), (20, 20), (31, 31), (32, 0), (-5, 0)])
def test_grace_days(gap, expected):
    assert grace_days(gap, 31) == expected


def days(*texts: str) -> list[int]:
    return [date.fromisoformat(text).toordinal() for text in texts]


def test_daily_mrr_steps_on_intervals_in_cents():
    daily = DailyMrr.of([ServiceInterval("a", 100000, date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)),
                         ServiceInterval("b", 100000, date(2026, 3, 16), date(2026, 12, 31), date(2026, 12, 31))])
    # 1,000.00 from 1 January, 2,000.00 from 16 March, nothing from 1 January 2027.
    assert daily.days == days("2026-01-01", "2026-03-16", "2027-01-01")
    assert daily.values == [100000, 200000, 0]
    assert daily.first_positive_day() == date(2026, 1, 1)
    assert daily.first_negative_day() is None


def test_an_evergreen_end_date_never_stops_and_never_overflows():
    """Issue 17 defect 2: 9999-12-31 ("no end") is the last representable day; the line simply never stops."""
    evergreen = ServiceInterval("e", 50000, date(2026, 1, 1), date.max, date.max)
    daily = DailyMrr.of([evergreen])
    assert daily.values[0] == 50000 and daily.days[0] == date(2026, 1, 1).toordinal()
    assert daily.days[1] > date.max.toordinal()
    months = months_through(date(2026, 1, 1), date(2026, 2, 28))
    assert monthly_revenue_cents([evergreen], date(2026, 2, 28), months) == [50000, 50000]


def test_revenue_is_prorated_by_day_with_one_rounding_per_month():
    intervals = [ServiceInterval("a", 100000, date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)),
                 ServiceInterval("b", 100000, date(2026, 3, 16), date(2026, 12, 31), date(2026, 12, 31))]
    months = months_through(date(2026, 1, 1), date(2026, 4, 30))
    # March: 1,000.00 x 31/31 + 1,000.00 x 16/31 = 1,516.129... -> 1,516.13.
    assert monthly_revenue_cents(intervals, date(2026, 4, 30), months) == [100000, 100000, 151613, 200000]


def test_revenue_stops_at_the_as_of_date_and_counts_no_grace():
    # Real service ends 10 March; grace to 20 March moves MRR, never revenue. As of 5 April.
    ended = ServiceInterval("a", 310000, date(2026, 1, 1), date(2026, 3, 10), date(2026, 3, 20))
    running = ServiceInterval("b", 300000, date(2026, 4, 1), date(2026, 12, 31), date(2026, 12, 31))
    months = months_through(date(2026, 3, 1), date(2026, 4, 5))
    assert [m.snapshot for m in months] == [date(2026, 3, 31), date(2026, 4, 5)]
    # March: 3,100.00 x 10/31 = 1,000.00; April: 3,000.00 x 5/30 = 500.00 (days after the as-of date earn nothing).
    assert monthly_revenue_cents([ended, running], date(2026, 4, 5), months) == [100000, 50000]


@pytest.mark.parametrize("numerator, denominator, expected", [
    (5, 2, 2), (7, 2, 4), (-5, 2, -2), (-7, 2, -4), (10, 3, 3), (-10, 3, -3), (11, 3, 4), (0, 7, 0),
])
def test_half_even_on_integers(numerator, denominator, expected):
    assert half_even(numerator, denominator) == expected


def test_customer_months_walk_snapshots_movements_and_revenue():
    intervals = [ServiceInterval("a", 100000, date(2026, 1, 15), date(2026, 2, 28), date(2026, 2, 28)),
                 ServiceInterval("b", 150000, date(2026, 4, 1), date(2026, 12, 31), date(2026, 12, 31))]
    months = customer_months(intervals, date(2026, 5, 10), "001A")
    assert [(m.month.month, m.snapshot_date.day, m.starting_mrr, m.movement, m.movement_amount, m.ending_mrr,
             m.recognized_revenue) for m in months] == [
        (1, 31, 0, "new", 100000, 100000, 54839),        # 17 of 31 days of 1,000.00
        (2, 28, 100000, "none", 0, 100000, 100000),
        (3, 31, 100000, "churn", -100000, 0, 0),
        (4, 30, 0, "winback", 150000, 150000, 150000),
        (5, 10, 150000, "none", 0, 150000, 48387),       # 10 of 31 days of 1,500.00, to the as-of date
    ]


def test_customers_follow_the_chain_root_and_overrides_stop_the_walk():
    contracts = {c: Contract(c, account, None, None, None, None)
                 for c, account in (("C1", "A"), ("C2", "B"), ("C3", "C"), ("C4", "D"))}
    links = {("C1", "C2"), ("C2", "C3"), ("C4", "C3")}
    with pytest.raises(DerivationError, match="merged_customers: contract C3 has predecessors of customers A, D"):
        contract_customers(contracts, links, {})
    assert contract_customers(contracts, links, {"C3": "A"}) == {"C1": "A", "C2": "A", "C3": "A", "C4": "D"}
    with pytest.raises(DerivationError, match="renewal_cycle: contracts C1, C2"):
        contract_customers(contracts, {("C1", "C2"), ("C2", "C1")}, {})


def test_a_customer_that_stops_for_good_has_no_months_after_it_stopped_but_still_counts_in_its_cohort():
    org = OrgBuilder()
    org.line(org.contract(org.account("Stops", "NA"), "2026-01-01", "2026-02-14"), "12000.00")
    org.line(org.contract(org.account("Stays", "NA"), "2026-01-01", "2026-12-31"), "24000.00")
    staged = org.staged_org()
    stops = next(line for line in staged.lines if line.net_price == D("12000.00"))
    interval = ServiceInterval(stops.line_id, 100000, date(2026, 1, 1), date(2026, 2, 14), date(2026, 2, 14))
    # Ended on 14 February, so churned in February: its months end there; March to June are months of nothing.
    assert [m.movement for m in customer_months([interval], date(2026, 6, 30), "x")] == ["new", "churn"]

    derived = derive_figures(staged, date(2026, 6, 30), 31)
    june = derived.cohorts[(date(2026, 1, 1), "NA", date(2026, 6, 1))]
    assert (june["cohort_customers"], june["active_customers"], june["cohort_starting_mrr"], june["ending_mrr"],
            june["logo_retention_pct"]) == (2, 1, D("3000.00"), D("2000.00"), D("50.0"))
    assert june == derived.cohort_total[(date(2026, 1, 1), date(2026, 6, 1))]
    assert sorted(month for month, _ in derived.bridge) == [date(2026, m, 1) for m in range(1, 7)]
    february = derived.bridge[(date(2026, 2, 1), "NA")]
    # 1,000.00 x 14/28 + 2,000.00: revenue stops with the real service.
    assert (february["recognized_revenue"], february["ending_mrr"], february["churn"]) == (
        D("2500.00"), D("2000.00"), D("-1000.00"))
    assert derived.bridge[(date(2026, 6, 1), "NA")]["active_customers"] == 1


@pytest.mark.parametrize("day, expected", [
    ("2025-12-31", None), ("2026-01-01", "1.10"), ("2026-03-31", "1.10"), ("2026-04-01", "1.20"),
    ("2026-06-30", "1.20"), ("2026-07-01", None), ("2026-09-01", "1.30"), ("2031-01-01", "1.30"),
])
def test_a_line_takes_the_rate_whose_period_holds_its_start(day, expected):
    rates = [Rate("EUR", D("1.10"), date(2026, 1, 1), date(2026, 4, 1)),
             Rate("EUR", D("1.20"), date(2026, 4, 1), date(2026, 7, 1)),
             Rate("EUR", D("1.30"), date(2026, 9, 1), None)]
    assert rate_at(rates, date.fromisoformat(day)) == (D(expected) if expected else None)


def test_the_collector_is_paused_only_while_deriving_and_restored_after_an_error():
    assert gc.isenabled()
    with pytest.raises(DerivationError):
        with collector_paused():
            assert not gc.isenabled()
            raise DerivationError("refused")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_customers_inputs_digest_moves_with_every_input_of_its_detail_and_nothing_else():
    from dataclasses import fields, replace
    from types import SimpleNamespace

    from revcert.certification.detail_proofs import derivation_basis
    from revcert.certification.independent_derivation import Product, contract_inputs, customer_inputs_digest

    product = Product("01t1", "Recurring", Decimal("12"), "Platform")
    intervals = [ServiceInterval("a1", 10000, date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 10), "800A",
                                 product, "EUR", Decimal("1.10")),
                 ServiceInterval("a2", 5000, date(2026, 3, 1), date(2026, 12, 31), date(2026, 12, 31), "800A",
                                 product, "USD", Decimal("1"))]
    contract = Contract("800A", "001A", "006A", None, date(2026, 1, 1), date(2026, 12, 31))
    basis = derivation_basis(date(2026, 11, 21), 31)
    inputs = (basis, "USD", "001A", ("Acme", "EMEA"), intervals, [contract_inputs(contract, ["800Z"], None)])

    def override(approver: str) -> SimpleNamespace:
        return SimpleNamespace(contract_id="800A", customer_account_id="001B", reason="merger", approver=approver)

    def digest(*changed) -> bytes:
        """The digest with some inputs changed (None: as in `inputs`)."""
        padded = [*changed, *[None] * (len(inputs) - len(changed))]
        return customer_inputs_digest(*(c if c is not None else i for c, i in zip(padded, inputs)))

    same = digest(*inputs)
    # What is not an input: the order lines were staged in, and which of two equal texts an amount was read as.
    assert digest(None, None, None, None, intervals[::-1]) == same
    assert digest(None, None, None, None, [replace(intervals[0], rate=Decimal("1.1")), intervals[1]]) == same
    other = {int: 1, str: "other", date: date(2026, 2, 2), Decimal: Decimal("1.2"),
             Product: Product("01t1", "Recurring", Decimal("24"), "Platform")}
    # Every field of an interval is an input (a field added to ServiceInterval fails here until it is digested).
    for interval_field in fields(ServiceInterval):
        value = getattr(intervals[0], interval_field.name)
        changed = replace(intervals[0], **{interval_field.name: other[type(value)]})
        assert digest(None, None, None, None, [changed, intervals[1]]) != same, interval_field.name
    different = [digest(derivation_basis(date(2026, 11, 22), 31)), digest(derivation_basis(date(2026, 11, 21), 30)),
                 digest(None, "EUR"),
                 digest(None, None, None, ("Acme", "NA")),
                 digest(None, None, None, ("Acme", None)),
                 digest(None, None, None, ("Acme", "")),
                 digest(None, None, None, None, None, [contract_inputs(contract, [], None)]),
                 digest(None, None, None, None, None, [contract_inputs(contract, ["800Z"], override("cfo"))]),
                 digest(None, None, None, None, None, [contract_inputs(contract, ["800Z"], override("ceo"))])]
    # Every field of a contract is an input.
    different += [digest(None, None, None, None, None, [contract_inputs(contract._replace(**{name: other[
        date if name in ("start", "end") else str]}), ["800Z"], None)]) for name in Contract._fields]
    assert len({same, *different}) == 1 + len(different)
