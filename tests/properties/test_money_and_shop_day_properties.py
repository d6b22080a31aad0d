"""Properties that must hold for any input, not only the worked examples: exact money on the wire, shop-days
that do not depend on how orders are grouped or ordered, and B5's threshold (hypothesis generates the cases)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from revcert.certification.shop_day_revenue import (
    Order,
    Refund,
    RefundTransaction,
    ShopSettings,
    round_to_cents,
    shop_days,
)
from revcert.money import dumps_exact, loads_exact
from revcert.reconciliation.shop_comparison import RELATIVE_TOLERANCE, is_discrepancy

cents = st.integers(min_value=-10**15, max_value=10**15).map(lambda n: Decimal(n) / 100)
positive_cents = st.integers(min_value=1, max_value=10**9).map(lambda n: Decimal(n) / 100)
SHOP = ShopSettings("1", "Australia/Lord_Howe", "AUD", refunds_on_refund_date=True)
START = datetime(2026, 3, 30, tzinfo=timezone.utc)


@given(st.lists(cents, max_size=20))
def test_amounts_go_through_json_exactly(amounts):
    document = {"amounts": amounts, "total": sum(amounts, Decimal(0))}
    assert loads_exact(dumps_exact(document)) == document
    assert all(isinstance(a, Decimal) for a in loads_exact(dumps_exact(document))["amounts"])


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_rounding_to_cents_is_half_to_even_of_the_exact_value(numerator, denominator):
    # 60 digits decide the half exactly here: a quotient this small is either an exact half or far from one.
    with localcontext() as context:
        context.prec = 60
        expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    assert round_to_cents(Fraction(numerator, denominator)) == expected


@st.composite
def orders(draw) -> list[Order]:
    count = draw(st.integers(min_value=0, max_value=12))
    made = []
    for number in range(count):
        total = draw(positive_cents)
        rate = draw(st.sampled_from([Decimal("1"), Decimal("1.37"), Decimal("0.7"), Decimal("3")]))
        placed = START + timedelta(minutes=draw(st.integers(min_value=0, max_value=60 * 24 * 20)))
        refunds = tuple(
            Refund(f"r{number}-{n}", placed + timedelta(hours=draw(st.integers(min_value=0, max_value=24 * 10))),
                   (RefundTransaction(f"t{number}-{n}", "REFUND", draw(st.sampled_from(["SUCCESS", "FAILURE"])),
                                      draw(st.integers(min_value=1, max_value=int(total * 100))) / Decimal(100),
                                      "EUR"),))
            for n in range(draw(st.integers(min_value=0, max_value=2))))
        made.append(Order(str(number), placed, draw(st.booleans()), None, total, "AUD",
                          (total * rate).quantize(Decimal("0.01")), "EUR", refunds))
    return made


def figures(days) -> dict:
    return {day: figure.figures() for day, figure in days.items()}


@settings(max_examples=60, deadline=None)
@given(orders(), st.randoms(use_true_random=False))
def test_a_shops_days_do_not_depend_on_the_order_of_its_orders_nor_on_how_they_are_split(made, shuffler):
    whole = shop_days(made, SHOP)
    shuffled = list(made)
    shuffler.shuffle(shuffled)
    assert figures(shop_days(shuffled, SHOP)) == figures(whole)
    half = len(made) // 2
    first, second = shop_days(made[:half], SHOP), shop_days(made[half:], SHOP)
    for day, figure in whole.items():
        parts = [p for p in (first.get(day), second.get(day)) if p]
        assert figure.gross_revenue == sum((p.gross_revenue for p in parts), Decimal(0))
        assert figure.refunds == sum((p.refunds for p in parts), Decimal(0))
        assert figure.net_revenue == figure.gross_revenue - figure.refunds
        assert figure.order_count == sum(p.order_count for p in parts)


@given(cents, cents)
def test_b5_threshold_holds_for_any_pair_of_figures(source, stored):
    apart = abs(source - stored)
    found = is_discrepancy(source, stored)
    assert found == (apart != 0 if source == 0 else apart > abs(source) * RELATIVE_TOLERANCE)
    assert not is_discrepancy(source, source)

