"""The pure shop-day revenue function (METHODOLOGY.md Part B), one named case per rule, worked by hand.

Every local-midnight case was worked from the zone's rules for 2026: New York springs forward on
8 March and falls back on 1 November (a 25-hour day), London on 29 March and 25 October, Kolkata is
+05:30 all year, Lord Howe moves half an hour (+11:00 to +10:30 on 5 April, back on 4 October), and
Chatham is +13:45 until 5 April, +12:45 until 27 September.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from revcert.certification.shop_day_revenue import (
    Order,
    Refund,
    RefundTransaction,
    ShopRuleError,
    ShopSettings,
    local_day,
    local_day_bounds,
    order_from_record,
    shop_day,
    shop_days,
)

D = Decimal
NEW_YORK = ShopSettings("1001", "America/New_York", "USD")
LONDON = ShopSettings("1002", "Europe/London", "GBP")
KOLKATA = ShopSettings("1003", "Asia/Kolkata", "INR")
LORD_HOWE = ShopSettings("1004", "Australia/Lord_Howe", "AUD")
CHATHAM = ShopSettings("1005", "Pacific/Chatham", "NZD")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def order(order_id: str, created: str, total: str, *, presentment: str | None = None, currency: str = "USD",
          presentment_currency: str | None = None, test: bool = False, cancelled: str | None = None,
          refunds: tuple[Refund, ...] = ()) -> Order:
    return Order(order_id, utc(created), test, utc(cancelled) if cancelled else None, D(total), currency,
                 D(presentment or total), presentment_currency or currency, refunds)


def refund(refund_id: str, created: str, *transactions: tuple[str, str, str], currency: str = "USD") -> Refund:
    """transactions: (amount, kind, status)."""
    return Refund(refund_id, utc(created), tuple(RefundTransaction(f"{refund_id}-{n}", kind, status, D(amount),
                                                                    currency)
                                                  for n, (amount, kind, status) in enumerate(transactions)))


@dataclass
class Case:
    settings: ShopSettings
    orders: list[Order]
    day: str
    gross: str = "0.00"
    refunds: str = "0.00"
    orders_counted: int = 0
    refunds_counted: int = 0
    other_days: dict[str, str] = field(default_factory=dict)  # day -> net revenue there


CASES = {
    "an order counts its gross on its local day": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "120.00")], "2026-05-20", "120.00", orders_counted=1),
    "a test order never counts": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "120.00", test=True)], "2026-05-20"),
    "cancelled and fully refunded does not count": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "120.00", cancelled="2026-05-21T09:00",
                         refunds=(refund("r1", "2026-05-21T09:00", ("120.00", "REFUND", "SUCCESS")),))],
        "2026-05-20"),
    "cancelled but only partly refunded counts, with its refund": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "120.00", cancelled="2026-05-21T09:00",
                         refunds=(refund("r1", "2026-05-21T09:00", ("20.00", "REFUND", "SUCCESS")),))],
        "2026-05-20", "120.00", "20.00", 1, 1),
    "a partial refund reduces the order's day": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "80.00",
                         refunds=(refund("r1", "2026-06-03T10:00", ("15.50", "REFUND", "SUCCESS")),))],
        "2026-05-20", "80.00", "15.50", 1, 1),
    "several refunds are each counted": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "80.00",
                         refunds=(refund("r1", "2026-05-22T10:00", ("10.00", "REFUND", "SUCCESS")),
                                  refund("r2", "2026-05-25T10:00", ("5.00", "REFUND", "SUCCESS"))))],
        "2026-05-20", "80.00", "15.00", 1, 2),
    "failed and pending refund transactions move nothing": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "80.00",
                         refunds=(refund("r1", "2026-05-22T10:00", ("10.00", "REFUND", "FAILURE")),
                                  refund("r2", "2026-05-23T10:00", ("10.00", "REFUND", "PENDING")),
                                  refund("r3", "2026-05-24T10:00", ("10.00", "VOID", "SUCCESS"))))],
        "2026-05-20", "80.00", "0.00", 1, 0),
    "several transactions in one refund are one refund": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "80.00",
                         refunds=(refund("r1", "2026-05-22T10:00", ("10.00", "REFUND", "SUCCESS"),
                                         ("2.50", "REFUND", "SUCCESS"), ("9.00", "REFUND", "FAILURE")),))],
        "2026-05-20", "80.00", "12.50", 1, 1),
    # Rate 100.00 / 80.00 = 1.25: 0.02 EUR -> 0.025 -> 0.02 (half to even), 0.03 -> 0.0375 -> 0.04.
    # Rounded per transaction 0.02 + 0.02 + 0.04 = 0.08; converting the 0.07 total would give 0.09.
    "refunds in the presentment currency: the order's rate, rounded half to even per transaction": Case(
        NEW_YORK, [order("1", "2026-05-20T15:00", "100.00", presentment="80.00", presentment_currency="EUR",
                         refunds=(refund("r1", "2026-05-22T10:00", ("0.02", "REFUND", "SUCCESS"),
                                         ("0.02", "REFUND", "SUCCESS"), ("0.03", "REFUND", "SUCCESS"),
                                         currency="EUR"),))],
        "2026-05-20", "100.00", "0.08", 1, 1),
    # 47.25 EUR x 9997.02 / 107.38 = 472,359.195 / 107.38 = 4,398.9494... INR -> 4,398.95.
    "an awkward rate converts exactly": Case(
        KOLKATA, [order("1", "2025-01-03T11:19", "9997.02", presentment="107.38", currency="INR",
                        presentment_currency="EUR",
                        refunds=(refund("r1", "2025-02-01T14:21", ("47.25", "REFUND", "SUCCESS"), currency="EUR"),))],
        "2025-01-03", "9997.02", "4398.95", 1, 1),
    "New York, a minute before midnight on the spring-forward day": Case(
        NEW_YORK, [order("1", "2026-03-08T04:59", "10.00"), order("2", "2026-03-08T05:00", "20.00")],
        "2026-03-07", "10.00", orders_counted=1, other_days={"2026-03-08": "20.00"}),
    "New York's 25-hour fall-back day keeps both of its midnights": Case(
        NEW_YORK, [order("1", "2026-11-01T03:59", "1.00"), order("2", "2026-11-01T04:00", "2.00"),
                   order("3", "2026-11-02T04:59", "4.00"), order("4", "2026-11-02T05:00", "8.00")],
        "2026-11-01", "6.00", orders_counted=2, other_days={"2026-10-31": "1.00", "2026-11-02": "8.00"}),
    "London's clock change days": Case(
        LONDON, [order("1", "2026-03-28T23:59", "1.00", currency="GBP"),
                 order("2", "2026-03-29T00:00", "2.00", currency="GBP"),
                 order("3", "2026-10-24T22:59", "4.00", currency="GBP"),
                 order("4", "2026-10-24T23:00", "8.00", currency="GBP")],
        "2026-10-25", "8.00", orders_counted=1,
        other_days={"2026-03-28": "1.00", "2026-03-29": "2.00", "2026-10-24": "4.00"}),
    "Kolkata's half-hour offset": Case(
        KOLKATA, [order("1", "2026-06-30T18:29", "1.00", currency="INR"),
                  order("2", "2026-06-30T18:30", "2.00", currency="INR")],
        "2026-06-30", "1.00", orders_counted=1, other_days={"2026-07-01": "2.00"}),
    "Lord Howe's half-hour daylight saving": Case(
        LORD_HOWE, [order("1", "2026-04-04T12:59", "1.00", currency="AUD"),
                    order("2", "2026-04-04T13:00", "2.00", currency="AUD"),
                    order("3", "2026-04-05T13:29", "4.00", currency="AUD"),
                    order("4", "2026-04-05T13:30", "8.00", currency="AUD"),
                    order("5", "2026-10-03T13:29", "16.00", currency="AUD"),
                    order("6", "2026-10-03T13:30", "32.00", currency="AUD")],
        "2026-04-05", "6.00", orders_counted=2,
        other_days={"2026-04-04": "1.00", "2026-04-06": "8.00", "2026-10-03": "16.00", "2026-10-04": "32.00"}),
    "Chatham's 45-minute offset, both sides of daylight saving": Case(
        CHATHAM, [order("1", "2026-04-04T10:14", "1.00", currency="NZD"),
                  order("2", "2026-04-04T10:15", "2.00", currency="NZD"),
                  order("3", "2026-06-30T11:14", "4.00", currency="NZD"),
                  order("4", "2026-06-30T11:15", "8.00", currency="NZD"),
                  order("5", "2026-09-26T11:14", "16.00", currency="NZD"),
                  order("6", "2026-09-26T11:15", "32.00", currency="NZD")],
        "2026-04-05", "2.00", orders_counted=1,
        other_days={"2026-04-04": "1.00", "2026-06-30": "4.00", "2026-07-01": "8.00", "2026-09-26": "16.00",
                    "2026-09-27": "32.00"}),
    "refunds belong to the order's date by default": Case(
        NEW_YORK, [order("1", "2026-05-30T15:00", "50.00",
                         refunds=(refund("r1", "2026-06-02T15:00", ("20.00", "REFUND", "SUCCESS")),))],
        "2026-05-30", "50.00", "20.00", 1, 1, other_days={"2026-06-02": "0.00"}),
    "a refund-date shop books a refund on the refund's own local date": Case(
        ShopSettings("1001", "America/New_York", "USD", refunds_on_refund_date=True),
        [order("1", "2026-05-30T15:00", "50.00",
               refunds=(refund("r1", "2026-06-03T03:30", ("20.00", "REFUND", "SUCCESS")),))],
        "2026-05-30", "50.00", "0.00", 1, 0, other_days={"2026-06-02": "-20.00"}),
}


@pytest.mark.parametrize("name", CASES)
def test_shop_day(name):
    case = CASES[name]
    figures = shop_day(date.fromisoformat(case.day), case.orders, case.settings)
    assert (figures.gross_revenue, figures.refunds, figures.order_count, figures.refund_count) == (
        D(case.gross), D(case.refunds), case.orders_counted, case.refunds_counted)
    assert figures.net_revenue == D(case.gross) - D(case.refunds)
    assert figures.currency == case.settings.currency
    for other, net in case.other_days.items():
        assert shop_day(date.fromisoformat(other), case.orders, case.settings).net_revenue == D(net), other


def test_all_days_at_once_equal_each_day_alone():
    case = CASES["Chatham's 45-minute offset, both sides of daylight saving"]
    everything = shop_days(case.orders, case.settings)
    assert {day: figures.net_revenue for day, figures in everything.items()} == {
        day: shop_day(day, case.orders, case.settings).net_revenue for day in everything}


@pytest.mark.parametrize("orders, settings, rule, ids", [
    ([order("7", "2026-05-20T15:00", "10.00", presentment="8.00", presentment_currency="EUR",
            refunds=(refund("r1", "2026-05-21T09:00", ("1.00", "REFUND", "SUCCESS"), currency="GBP"),))],
     NEW_YORK, "refund_currency_mismatch", ["r1-0"]),
    ([order("8", "2026-05-20T15:00", "10.00", presentment="0.00", presentment_currency="EUR",
            refunds=(refund("r1", "2026-05-21T09:00", ("1.00", "REFUND", "SUCCESS"), currency="EUR"),))],
     NEW_YORK, "zero_presentment_total_with_refunds", ["8"]),
    ([order("9", "2026-05-20T15:00", "10.00"), order("9", "2026-05-20T16:00", "12.00")], NEW_YORK,
     "duplicate_order_id", ["9"]),
    ([order("10", "2026-05-20T15:00", "10.00")], ShopSettings("1009", "Mars/Olympus_Mons", "USD"),
     "unknown_timezone", ["1009"]),
])
def test_a_broken_rule_is_refused_naming_the_records(orders, settings, rule, ids):
    with pytest.raises(ShopRuleError) as error:
        shop_days(orders, settings)
    assert error.value.rule == rule and error.value.record_ids == ids
    assert rule in str(error.value)


RECORD = {"id": "gid://shopify/Order/42", "createdAt": "2026-05-20T15:00:00Z", "test": False, "cancelledAt": None,
          "totalPriceSet": {"shopMoney": {"amount": "100.00", "currencyCode": "USD"},
                            "presentmentMoney": {"amount": "80.00", "currencyCode": "EUR"}},
          "refunds": [{"id": "gid://shopify/Refund/7", "createdAt": "2026-05-22T10:00:00Z", "transactions": {
              "edges": [{"node": {"id": "gid://shopify/OrderTransaction/9", "kind": "REFUND", "status": "SUCCESS",
                                  "amountSet": {"presentmentMoney": {"amount": "8.00", "currencyCode": "EUR"}}}}]}}]}


def test_an_order_in_the_apis_shape():
    parsed = order_from_record(RECORD)
    assert (parsed.order_id, parsed.shop_total, parsed.presentment_total) == ("42", D("100.00"), D("80.00"))
    assert shop_day(date(2026, 5, 20), [parsed], NEW_YORK).refunds == D("10.00")


def totals(shop_amount: object) -> dict:
    return {"totalPriceSet": {"shopMoney": {"amount": shop_amount, "currencyCode": "USD"},
                              "presentmentMoney": {"amount": "80.00", "currencyCode": "EUR"}}}


@pytest.mark.parametrize("change, rule", [
    ({"totalPriceSet": None}, "missing_total"),
    (totals(D("100.00")), "amount_not_a_decimal_string"),
    (totals("NaN"), "amount_not_a_decimal_string"),
    (totals("1e400x"), "amount_not_a_decimal_string"),
])
def test_a_malformed_order_is_refused_naming_it(change, rule):
    with pytest.raises(ShopRuleError) as error:
        order_from_record({**RECORD, **change})
    assert error.value.rule == rule and error.value.record_ids == ["42"]


# Local days whose midnight or whose hours move: DST days of the generator's zones, midnights that
# happen twice (Beirut falls back at midnight, Goose Bay a minute after it), one that never happens
# (Havana springs forward at midnight), and the days around the one Samoa skipped.
BOUNDED_DAYS = [
    ("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2026, 3, 29)), ("Australia/Lord_Howe", date(2026, 4, 5)),
    ("Australia/Lord_Howe", date(2026, 10, 4)), ("Pacific/Chatham", date(2026, 4, 5)),
    ("Pacific/Chatham", date(2026, 9, 27)), ("Asia/Kolkata", date(2026, 11, 21)),
    ("Asia/Beirut", date(2022, 10, 30)), ("America/Goose_Bay", date(2010, 11, 7)),
    ("America/Havana", date(2026, 3, 8)),
    ("Pacific/Apia", date(2011, 12, 29)), ("Pacific/Apia", date(2011, 12, 31)),
]


@pytest.mark.parametrize(("zone_name", "day"), BOUNDED_DAYS)
def test_a_local_days_bounds_hold_every_instant_of_it(zone_name, day):
    zone = ZoneInfo(zone_name)
    start, end = local_day_bounds(day, zone)
    around = datetime.combine(day, datetime.min.time(), timezone.utc) - timedelta(days=2)
    minutes = [around + timedelta(minutes=m) for m in range(5 * 24 * 60)]
    on_day = [m for m in minutes if local_day(m, zone) == day]
    assert all(start <= m < end for m in on_day)
    # Tight: nothing of the neighbouring days is inside beyond the hour a midnight in a gap can add.
    outside = [m for m in minutes if start <= m < end and local_day(m, zone) != day]
    assert len(outside) <= 60
    if on_day:
        assert on_day[0] == start or local_day(start, zone) != day
