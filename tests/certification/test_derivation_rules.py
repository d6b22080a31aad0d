"""The derivation's rules as pure functions, against hand-worked figures."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from revcert.certification.independent_derivation import (
    Contract,
    DailyMrr,
    DerivationError,
    Line,
    ServiceInterval,
    classify_movement,
    contract_customers,
    grace_days,
    line_mrr,
    recognized_revenue_by_month,
    round_to_cents,
    service_period,
)

D = Decimal


@pytest.mark.parametrize("value, expected", [
    (Fraction(1, 200), "0.00"), (Fraction(3, 200), "0.02"), (Fraction(-1, 200), "0.00"), (Fraction(-3, 200), "-0.02"),
    (Fraction(1000) / 3, "333.33"), (Fraction(2, 3), "0.67"), (Fraction(12345, 1000), "12.34"),
])
def test_rounding_is_half_to_even_to_the_cent(value, expected):
    assert round_to_cents(value) == D(expected)


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
    assert line_mrr(D(net), D(quantity), D(prorate), D(term), D(rate)) == D(expected)


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


def test_daily_mrr_steps_on_intervals():
    daily = DailyMrr.of([ServiceInterval("a", D("1000.00"), date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)),
                         ServiceInterval("b", D("1000.00"), date(2026, 3, 16), date(2026, 12, 31), date(2026, 12, 31))])
    assert daily.on(date(2025, 12, 31)) == 0
    assert daily.on(date(2026, 3, 15)) == D("1000.00")
    assert daily.on(date(2026, 3, 16)) == D("2000.00")
    assert daily.on(date(2027, 1, 1)) == 0
    assert daily.first_positive_day() == date(2026, 1, 1)


def test_an_evergreen_end_date_never_stops_and_never_overflows():
    """Issue 17 defect 2: 9999-12-31 ("no end") is the last representable day; the line simply never stops."""
    evergreen = ServiceInterval("e", D("500.00"), date(2026, 1, 1), date.max, date.max)
    daily = DailyMrr.of([evergreen])
    assert daily.on(date(2026, 1, 1)) == daily.on(date.max) == D("500.00")
    assert recognized_revenue_by_month([evergreen], date(2026, 2, 28)) == {
        date(2026, 1, 1): D("500.00"), date(2026, 2, 1): D("500.00")}


def test_revenue_is_prorated_by_day_with_one_rounding_per_month():
    intervals = [ServiceInterval("a", D("1000.00"), date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)),
                 ServiceInterval("b", D("1000.00"), date(2026, 3, 16), date(2026, 12, 31), date(2026, 12, 31))]
    revenue = recognized_revenue_by_month(intervals, date(2026, 4, 30))
    assert revenue == {date(2026, 1, 1): D("1000.00"), date(2026, 2, 1): D("1000.00"),
                       date(2026, 3, 1): D("1516.13"), date(2026, 4, 1): D("2000.00")}


def test_customers_follow_the_chain_root_and_overrides_stop_the_walk():
    contracts = {c: Contract(c, account, None, None, None, None)
                 for c, account in (("C1", "A"), ("C2", "B"), ("C3", "C"), ("C4", "D"))}
    links = {("C1", "C2"), ("C2", "C3"), ("C4", "C3")}
    with pytest.raises(DerivationError, match="merged_customers: contract C3 has predecessors of customers A, D"):
        contract_customers(contracts, links, {})
    assert contract_customers(contracts, links, {"C3": "A"}) == {"C1": "A", "C2": "A", "C3": "A", "C4": "D"}
    with pytest.raises(DerivationError, match="renewal_cycle: contracts C1, C2"):
        contract_customers(contracts, {("C1", "C2"), ("C2", "C1")}, {})
