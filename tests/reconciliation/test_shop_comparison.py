"""The reconciliation's rules (METHODOLOGY.md B5) as pure functions, each case worked by hand."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from revcert.certification.shop_day_revenue import Order, Refund, RefundTransaction, ShopSettings
from revcert.reconciliation.shop_comparison import (
    Comparison,
    compare_shop,
    differing_orders,
    discrepancy_alert,
    is_discrepancy,
    last_complete_day,
    reconciliation_days,
    sample_shops,
    source_search,
)

D = Decimal
SHOPS = [str(1000 + n) for n in range(100)]


def test_a_sample_is_the_same_for_the_same_seed_whatever_order_the_shops_come_in():
    first = sample_shops(SHOPS, D("0.05"), seed=42)
    assert first == sample_shops(list(reversed(SHOPS)), D("0.05"), seed=42)
    assert len(first) == 5 and set(first) <= set(SHOPS) and first == sorted(first)
    assert sample_shops(SHOPS, D("0.05"), seed=43) != first


def test_a_sample_holds_at_least_one_shop_and_all_shops_means_all():
    assert len(sample_shops(SHOPS[:3], D("0.05"), seed=1)) == 1
    assert sample_shops(SHOPS[:3], D("0.05"), seed=1, all_shops=True) == SHOPS[:3]
    assert sample_shops([], D("0.05"), seed=1) == []
    assert len(sample_shops(SHOPS, D("0.051"), seed=1)) == 6  # 5.1 shops round up


@pytest.mark.parametrize(("source", "stored", "expected"), [
    (D("1000.00"), D("999.00"), False),   # exactly 0.1% apart: not over it
    (D("1000.00"), D("998.99"), True),    # a cent more than 0.1%
    (D("1000.00"), D("1001.01"), True),   # over, the other way
    (D("300.00"), D("300.01"), False),    # a tampered cent on a 300 day is 0.0033%
    (D("0.00"), D("0.01"), True),         # any difference when the source is zero
    (D("0.00"), None, False),             # nothing stored, nothing at the source
    (D("5.00"), None, True),              # nothing stored for revenue at the source
    (D("-20.00"), D("-19.97"), True),     # a refund-heavy day: 0.15% of its size
])
def test_the_discrepancy_rule(source, stored, expected):
    assert is_discrepancy(source, stored) is expected


def test_a_comparison_gives_difference_as_source_minus_stored_and_its_share_of_the_source():
    comparison = Comparison("1001", date(2026, 11, 20), "USD", D("50.75"), D("101.50"))
    assert comparison.difference == D("-50.75") and comparison.relative_difference == D("-1")
    assert Comparison("1001", date(2026, 11, 20), "USD", D("0.00"), D("0.01")).relative_difference is None


def test_the_last_complete_day_is_the_shops_own_yesterday():
    now = datetime(2026, 11, 21, 11, 0, tzinfo=timezone.utc)
    assert last_complete_day(now, ZoneInfo("Asia/Kolkata")) == date(2026, 11, 20)        # 16:30 on the 21st
    assert last_complete_day(now, ZoneInfo("Pacific/Chatham")) == date(2026, 11, 21)     # 00:45 on the 22nd
    assert last_complete_day(now, ZoneInfo("America/New_York")) == date(2026, 11, 20)    # 06:00 on the 21st
    assert reconciliation_days(date(2026, 11, 20), 3) == [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]


def test_the_source_search_covers_the_shops_local_days_exactly():
    days = reconciliation_days(date(2026, 11, 20), 7)
    # Lord Howe keeps +11:00 in November (its half-hour summer time): the 14th begins at 13:00 UTC on the 13th.
    assert source_search(days, ShopSettings("1", "Australia/Lord_Howe", "AUD")) == \
        "created_at:>='2026-11-13T13:00:00Z' AND created_at:<'2026-11-20T13:00:00Z'"
    # A refund-date shop also reads orders changed since the window began: a late refund changes its order.
    assert source_search(days, ShopSettings("1", "Pacific/Chatham", "NZD", refunds_on_refund_date=True)) == \
        ("created_at:>='2026-11-13T10:15:00Z' AND created_at:<'2026-11-20T10:15:00Z' "
         "OR updated_at:>='2026-11-13T10:15:00Z'")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def order(order_id: str, created: str, total: str = "100.00", refunds: tuple[Refund, ...] = ()) -> Order:
    return Order(order_id, utc(created), False, None, D(total), "USD", D(total), "USD", refunds)


def refund(refund_id: str, created: str, *transactions: tuple[str, str, str, str]) -> Refund:
    return Refund(refund_id, utc(created), tuple(RefundTransaction(t, kind, status, D(amount), "USD")
                                                 for t, kind, status, amount in transactions))


NEW_YORK = ShopSettings("1001", "America/New_York", "USD")


def test_orders_differ_only_when_their_state_does_not_in_case_or_in_the_order_refunds_come_in():
    staged = [order("1", "2026-11-18T15:00:00Z", refunds=(
        refund("r1", "2026-11-19T15:00:00Z", ("t1", "refund", "success", "10.00"), ("t2", "void", "success", "1")),
        refund("r2", "2026-11-19T16:00:00Z", ("t3", "refund", "pending", "5.00"))))]
    source = [order("1", "2026-11-18T15:00:00Z", refunds=(
        refund("r2", "2026-11-19T16:00:00Z", ("t3", "REFUND", "PENDING", "5.00")),
        refund("r1", "2026-11-19T15:00:00Z", ("t2", "VOID", "SUCCESS", "1.00"), ("t1", "REFUND", "SUCCESS", "10")))),
    ]
    assert differing_orders(source, staged, NEW_YORK) == {}


def test_a_changed_order_is_named_on_its_order_day_and_for_a_refund_date_shop_on_its_refund_day_too():
    staged = [order("7", "2026-11-18T03:00:00Z"), order("8", "2026-11-18T15:00:00Z")]
    source = [order("7", "2026-11-18T03:00:00Z", refunds=(
        refund("r9", "2026-11-20T15:00:00Z", ("t9", "REFUND", "SUCCESS", "20.00")),)),
        order("8", "2026-11-18T15:00:00Z"), order("12", "2026-11-19T15:00:00Z")]
    # 03:00 UTC on the 18th is the 17th in New York.
    assert differing_orders(source, staged, NEW_YORK) == {date(2026, 11, 17): ["7"], date(2026, 11, 19): ["12"]}
    refund_date = ShopSettings("1001", "America/New_York", "USD", refunds_on_refund_date=True)
    assert differing_orders(source, staged, refund_date) == {
        date(2026, 11, 17): ["7"], date(2026, 11, 19): ["12"], date(2026, 11, 20): ["7"]}


def test_compare_shop_recomputes_each_day_from_the_source_and_sets_it_beside_the_stored_figure():
    days = reconciliation_days(date(2026, 11, 20), 3)
    source = [order("1", "2026-11-18T15:00:00Z", "40.00"), order("2", "2026-11-18T16:00:00Z", "60.00", refunds=(
        refund("r", "2026-11-20T15:00:00Z", ("t", "REFUND", "SUCCESS", "15.00")),))]
    staged = [order("1", "2026-11-18T15:00:00Z", "40.00"), order("2", "2026-11-18T16:00:00Z", "60.00")]
    stored = {date(2026, 11, 18): (D("100.00"), 11), date(2026, 11, 19): (D("0.00"), 11)}
    comparisons = compare_shop(NEW_YORK, days, source, staged, stored)
    assert [(c.day, c.source_net_revenue, c.stored_net_revenue, c.is_discrepancy, c.differing_order_ids)
            for c in comparisons] == [
        (date(2026, 11, 18), D("85.00"), D("100.00"), True, ("2",)),
        (date(2026, 11, 19), D("0.00"), D("0.00"), False, ()),
        (date(2026, 11, 20), D("0.00"), None, False, ()),
    ]


def test_the_alert_reads_in_a_minute():
    found = [Comparison("1001", date(2026, 11, 19), "USD", D("50.75"), D("101.50"), 7, ("5600000029964",)),
             Comparison("1003", date(2026, 11, 14), "EUR", D("0.00"), D("88.10"), 7,
                        tuple(str(n) for n in range(11, 18)))]
    text = discrepancy_alert(found, {"1005": "HTTP 503"}, 28, "http://airflow/run")
    lines = text.splitlines()
    assert lines[0] == (":warning: *Shop revenue reconciliation*: 2 of 28 shop-day(s) differ from the source; "
                        "1 shop(s) could not be compared")
    assert lines[2].split() == ["shop", "day", "source", "stored", "difference", "status", "orders"]
    assert lines[4].split() == ["1001", "2026-11-19", "50.75", "USD", "101.50", "USD", "-50.75", "discrepancy",
                                "5600000029964"]
    assert lines[5].split()[:8] == ["1003", "2026-11-14", "0.00", "EUR", "88.10", "EUR", "-88.10", "discrepancy"]
    assert lines[5].endswith("11, 12, 13, 14, 15 +2")
    assert lines[-2:] == ["shop 1005 not compared: HTTP 503", "Run: http://airflow/run"]
