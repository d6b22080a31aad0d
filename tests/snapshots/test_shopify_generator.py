"""The generated shops are realistic: every situation of METHODOLOGY.md Part B occurs in them.

Each test finds its situation by inspecting the written files, never by trusting the generator.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from revcert.snapshots.shopify_generator import ShopShape, dst_change_days, generate_shops
from revcert.snapshots.shopify_snapshot import ORDERS_FILE, SHOPS_FILE, read_orders, read_shops

CUTOFF = datetime(2026, 11, 21, tzinfo=timezone.utc)
REQUIRED_ZONES = {"America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"}
TWO_DECIMAL_CURRENCIES = {"USD", "GBP", "EUR", "INR", "AUD", "NZD", "CAD", "CHF", "SEK"}
AMOUNT = re.compile(r"^\d+\.\d{2}$")
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("default-shops")
    generate_shops(directory, ShopShape())
    return directory


@pytest.fixture(scope="module")
def shops(snapshot: Path) -> dict[str, dict]:
    return {shop["id"]: shop for shop in read_shops(snapshot)}


@pytest.fixture(scope="module")
def orders(snapshot: Path) -> list[dict]:
    return list(read_orders(snapshot))


def moment(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


def local(order: dict, shops: dict[str, dict], text: str | None = None) -> datetime:
    return moment(text or order["createdAt"]).astimezone(ZoneInfo(shops[order["shopId"]]["ianaTimezone"]))


def transactions(order: dict) -> list[dict]:
    return [t for refund in order["refunds"] for t in refund["transactions"]]


def successful_refunds(order: dict) -> list[Decimal]:
    return [Decimal(t["amountSet"]["presentmentMoney"]["amount"]) for t in transactions(order)
            if t["kind"] == "REFUND" and t["status"] == "SUCCESS"]


def totals(order: dict) -> tuple[Decimal, Decimal]:
    money = order["totalPriceSet"]
    return Decimal(money["shopMoney"]["amount"]), Decimal(money["presentmentMoney"]["amount"])


def exact_conversion(order: dict, presentment_amount: Decimal) -> Fraction:
    """A presentment amount at the order's own rate (shop money / presentment money), unrounded."""
    shop_total, presentment_total = totals(order)
    return Fraction(presentment_amount) * Fraction(shop_total) / Fraction(presentment_total)


def to_cent(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_EVEN)


# -- the files -----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path):
    shape = ShopShape(shops=6, orders=800, seed=7)
    counts = [generate_shops(tmp_path / name, shape) for name in ("a", "b")]
    generate_shops(tmp_path / "c", ShopShape(shops=6, orders=800, seed=8))
    for name in (SHOPS_FILE, ORDERS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / ORDERS_FILE).read_bytes() != (tmp_path / "c" / ORDERS_FILE).read_bytes()
    assert counts[0] == counts[1] and counts[0]["orders"] == 800 and counts[0]["shops"] == 6


def test_the_counts_returned_are_the_lines_written(snapshot: Path, orders: list[dict]):
    counts = generate_shops(snapshot.parent / "again", ShopShape())
    assert counts == {"shops": 12, "orders": len(orders), "refunds": sum(len(o["refunds"]) for o in orders),
                      "transactions": sum(len(transactions(o)) for o in orders)}
    assert len(orders) == 6000


def test_no_json_number_at_all_so_no_float_can_creep_in(snapshot: Path):
    numbers: list[str] = []
    for name in (SHOPS_FILE, ORDERS_FILE):
        for line in (snapshot / name).read_text(encoding="utf-8").splitlines():
            json.loads(line, parse_float=numbers.append, parse_int=numbers.append, parse_constant=numbers.append)
    assert numbers == []


def test_every_amount_is_a_two_decimal_string_in_a_two_decimal_currency(orders: list[dict]):
    amounts = []
    for order in orders:
        money = order["totalPriceSet"]
        amounts += [(money["shopMoney"], order["currencyCode"]),
                    (money["presentmentMoney"], order["presentmentCurrencyCode"])]
        amounts += [(t["amountSet"]["presentmentMoney"], order["presentmentCurrencyCode"]) for t in transactions(order)]
    assert len(amounts) > 12000
    for value, currency in amounts:
        assert isinstance(value["amount"], str) and AMOUNT.match(value["amount"]), value
        assert value["currencyCode"] == currency and currency in TWO_DECIMAL_CURRENCIES


def test_ids_are_unique_shopify_gids_and_shops_are_known(shops: dict, orders: list[dict]):
    assert all(re.fullmatch(r"gid://shopify/Shop/\d+", shop_id) for shop_id in shops)
    order_ids = [o["id"] for o in orders]
    refund_ids = [r["id"] for o in orders for r in o["refunds"]]
    transaction_ids = [t["id"] for o in orders for t in transactions(o)]
    for ids, kind in ((order_ids, "Order"), (refund_ids, "Refund"), (transaction_ids, "OrderTransaction")):
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(rf"gid://shopify/{kind}/\d+", i) for i in ids)
    assert {o["shopId"] for o in orders} == set(shops)


def test_order_names_count_up_per_shop_in_creation_order(orders: list[dict]):
    by_shop: dict[str, list[dict]] = {}
    for order in orders:
        by_shop.setdefault(order["shopId"], []).append(order)
    for shop_orders in by_shop.values():
        assert [o["name"] for o in shop_orders] == [f"#{1001 + i}" for i in range(len(shop_orders))]
        assert [o["createdAt"] for o in shop_orders] == sorted(o["createdAt"] for o in shop_orders)


# -- timestamps ------------------------------------------------------------------------------------


def test_every_timestamp_is_utc_and_before_the_extraction(orders: list[dict]):
    stamps = [s for o in orders for s in (o["createdAt"], o["updatedAt"], o["processedAt"], o["cancelledAt"])
              if s is not None] + [r["createdAt"] for o in orders for r in o["refunds"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)
    assert max(moment(s) for s in stamps) < CUTOFF


def test_orders_span_the_period_up_to_the_day_before_today(orders: list[dict]):
    created = [moment(o["createdAt"]) for o in orders]
    assert min(created) >= datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert min(created) < datetime(2025, 1, 3, tzinfo=timezone.utc)
    assert max(created) > datetime(2026, 11, 20, tzinfo=timezone.utc)


def test_updated_at_is_never_before_creation_cancellation_or_a_refund(orders: list[dict]):
    for order in orders:
        events = [order["createdAt"], *(r["createdAt"] for r in order["refunds"])]
        if order["cancelledAt"]:
            events.append(order["cancelledAt"])
        assert moment(order["updatedAt"]) >= max(moment(e) for e in events), order["id"]
    assert any(moment(o["updatedAt"]) - moment(o["createdAt"]) > timedelta(days=20) and not o["refunds"]
               for o in orders), "no order edited long after it was placed"


def test_refunds_come_after_their_order_days_later_and_some_in_a_later_month(shops: dict, orders: list[dict]):
    gaps = [(order, refund) for order in orders for refund in order["refunds"]]
    assert all(moment(r["createdAt"]) > moment(o["createdAt"]) for o, r in gaps)
    assert sum(moment(r["createdAt"]) - moment(o["createdAt"]) >= timedelta(days=3) for o, r in gaps) > 100
    assert any((local(o, shops, r["createdAt"]).year, local(o, shops, r["createdAt"]).month)
               > (local(o, shops).year, local(o, shops).month) for o, r in gaps)


def test_imported_orders_were_processed_before_they_were_created(orders: list[dict]):
    assert any(moment(o["processedAt"]) < moment(o["createdAt"]) for o in orders)
    assert all(moment(o["processedAt"]) <= moment(o["createdAt"]) for o in orders)


# -- shops and local days -------------------------------------------------------------------------


def test_shops_cover_the_required_timezones_with_two_decimal_currencies(shops: dict, orders: list[dict]):
    zones_with_orders = {shops[o["shopId"]]["ianaTimezone"] for o in orders}
    assert REQUIRED_ZONES <= zones_with_orders
    assert {shop["currencyCode"] for shop in shops.values()} <= TWO_DECIMAL_CURRENCIES
    assert all(set(shop) == {"id", "name", "ianaTimezone", "currencyCode"} for shop in shops.values())
    assert all(o["currencyCode"] == shops[o["shopId"]]["currencyCode"] for o in orders)


def test_shop_names_hold_characters_a_page_must_escape(shops: dict):
    names = " ".join(shop["name"] for shop in shops.values())
    assert "&" in names and "'" in names and "<" in names


@pytest.mark.parametrize("zone_name", sorted(REQUIRED_ZONES))
def test_orders_fall_minutes_either_side_of_local_midnight_on_dst_change_days(zone_name: str, shops: dict,
                                                                              orders: list[dict]):
    zone = ZoneInfo(zone_name)
    near_midnight = set()
    for order in orders:
        if shops[order["shopId"]]["ianaTimezone"] != zone_name:
            continue
        created = moment(order["createdAt"]).astimezone(zone)
        if created.hour == 0 and created.minute < 10:
            near_midnight.add((created.date(), "after"))
        if created.hour == 23 and created.minute >= 50:
            near_midnight.add((created.date() + timedelta(days=1), "before"))
    change_days = dst_change_days(zone)
    assert len(change_days) == (0 if zone_name == "Asia/Kolkata" else 4)
    # A change day has a midnight at each end; a new year has the one it starts with.
    boundaries = [*change_days, *(day + timedelta(days=1) for day in change_days), date(2026, 1, 1)]
    for boundary in boundaries:
        assert {(boundary, "before"), (boundary, "after")} <= near_midnight, (zone_name, boundary)


def test_some_orders_already_belong_to_today_in_shops_east_of_utc(shops: dict, orders: list[dict]):
    today_zones = {shops[o["shopId"]]["ianaTimezone"] for o in orders if local(o, shops).date() == date(2026, 11, 21)}
    assert {"Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"} <= today_zones
    assert "America/New_York" not in today_zones


def test_utc_date_and_local_date_differ_for_many_orders(shops: dict, orders: list[dict]):
    assert sum(local(o, shops).date() != moment(o["createdAt"]).date() for o in orders) > 500


# -- what counts --------------------------------------------------------------------------------


def test_test_orders_occur(orders: list[dict]):
    assert sum(o["test"] is True for o in orders) > 50
    assert all(isinstance(o["test"], bool) for o in orders)


def test_cancelled_orders_are_fully_refunded_partly_refunded_or_not_refunded(orders: list[dict]):
    cancelled = [o for o in orders if o["cancelledAt"] and totals(o)[1] > 0]
    full = [o for o in cancelled if sum(successful_refunds(o)) >= totals(o)[1]]
    partial = [o for o in cancelled if 0 < sum(successful_refunds(o)) < totals(o)[1]]
    none = [o for o in cancelled if not successful_refunds(o)]
    assert len(full) > 50 and len(partial) > 50 and len(none) > 20
    # A fully refunded order converts back to at least its shop total, so the rule is unambiguous here.
    assert all(sum(to_cent(exact_conversion(o, a)) for a in successful_refunds(o)) >= totals(o)[0] for o in full)


def test_cancelled_partial_refunds_hide_the_rest_in_unsuccessful_transactions(orders: list[dict]):
    traps = [o for o in orders if o["cancelledAt"] and 0 < sum(successful_refunds(o)) < totals(o)[1]
             and sum(Decimal(t["amountSet"]["presentmentMoney"]["amount"]) for t in transactions(o)
                     if t["kind"] == "REFUND") == totals(o)[1]]
    assert len(traps) > 10


def test_free_orders_occur_cancelled_and_not(orders: list[dict]):
    free = [o for o in orders if totals(o) == (0, 0)]
    assert any(o["cancelledAt"] for o in free) and any(not o["cancelledAt"] for o in free)


def test_refunded_in_full_without_cancellation_occurs(orders: list[dict]):
    assert any(not o["cancelledAt"] and totals(o)[1] > 0 and sum(successful_refunds(o)) == totals(o)[1]
               for o in orders)


def test_successful_refunds_never_exceed_what_was_paid(orders: list[dict]):
    assert all(sum(successful_refunds(o)) <= totals(o)[1] for o in orders)


# -- refunds ----------------------------------------------------------------------------------------


def test_partial_refunds_and_several_refunds_on_one_order(orders: list[dict]):
    partial = [o for o in orders if not o["cancelledAt"] and 0 < sum(successful_refunds(o)) < totals(o)[1]]
    several = [o for o in orders if len(o["refunds"]) >= 2]
    assert len(partial) > 300 and len(several) > 100
    assert any(len(o["refunds"]) == 3 for o in several)


def test_refunds_hold_several_transactions(orders: list[dict]):
    per_refund = Counter(len(r["transactions"]) for o in orders for r in o["refunds"])
    assert per_refund[2] > 50 and per_refund[3] > 10
    assert any(sum(t["kind"] == "REFUND" and t["status"] == "SUCCESS" for t in r["transactions"]) >= 2
               for o in orders for r in o["refunds"])


def test_unsuccessful_refund_transactions_and_other_kinds_occur(orders: list[dict]):
    kinds = Counter((t["kind"], t["status"]) for o in orders for t in transactions(o))
    assert kinds[("REFUND", "FAILURE")] > 20 and kinds[("REFUND", "PENDING")] > 20
    assert kinds[("SALE", "SUCCESS")] > 5 and kinds[("VOID", "SUCCESS")] > 5
    assert {kind for kind, _ in kinds} == {"REFUND", "SALE", "VOID"}
    assert {status for _, status in kinds} == {"SUCCESS", "FAILURE", "PENDING"}


def test_refunds_with_nothing_successful_occur(orders: list[dict]):
    assert sum(bool(o["refunds"]) and not successful_refunds(o) for o in orders) > 50


# -- currencies ------------------------------------------------------------------------------------


def test_presentment_currency_differs_from_the_shops_for_many_orders(orders: list[dict]):
    foreign = [o for o in orders if o["presentmentCurrencyCode"] != o["currencyCode"]]
    assert len(foreign) > 1000
    assert all(totals(o)[0] == totals(o)[1] for o in orders if o["presentmentCurrencyCode"] == o["currencyCode"])
    # Awkward rates: most foreign orders' own rate does not end within a few decimals.
    awkward = [o for o in foreign if (Fraction(totals(o)[0]) / Fraction(totals(o)[1])).denominator > 10_000]
    assert len(awkward) > len(foreign) // 2


def test_some_refund_conversions_land_exactly_on_half_a_cent(orders: list[dict]):
    ties = [(o, a) for o in orders if o["presentmentCurrencyCode"] != o["currencyCode"]
            for a in successful_refunds(o) if (exact_conversion(o, a) * 100).denominator == 2]
    # Amounts picked at random tie about one time in eight at such rates; built ties are far more.
    assert len(ties) > 200
    # Half-even rounding sends some ties down and some up: both must occur.
    directions = {to_cent(exact_conversion(o, a)) > exact_conversion(o, a) for o, a in ties}
    assert directions == {True, False}


def test_rounding_each_transaction_differs_from_rounding_the_sum(orders: list[dict]):
    differing = [o for o in orders if len(successful_refunds(o)) >= 2
                 and sum(to_cent(exact_conversion(o, a)) for a in successful_refunds(o))
                 != to_cent(sum((exact_conversion(o, a) for a in successful_refunds(o)), Fraction(0)))]
    assert len(differing) >= 3
