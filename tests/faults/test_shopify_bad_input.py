"""The standing corpus of bad Shopify input, run through the shop_daily_revenue DAG (dag.test): each kind
fails its own shop only, naming the rule and the orders in one page; that shop keeps its published days,
the other shop publishes, and no record is left open. Add a row for every new kind met.

Values GraphQL itself cannot send (a null in a non-null field, a malformed DateTime) are refused by the
stand-in as Shopify would; the snapshot tier (test_snapshot_and_command_line.py) covers them in files."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from revcert.extraction.shopify_client import legacy_id
from revcert.standins.shopify.server import ShopifyStore
from tests.airflow_harness import load_dag, run_shop_dag
from tests.faults.checks import left_open, viz_fingerprint
from tests.shop_records import integrity_discrepancies, shop_fingerprint, shop_records

pytestmark = pytest.mark.integration

Plant = Callable[[ShopifyStore, str], str]  # changes one shop; returns the id the page must name


@dataclass(frozen=True)
class BadInput:
    kind: str
    plant: Plant
    rule: str


def an_order(store: ShopifyStore, shop_gid: str) -> dict:
    return next(o for o in store.orders(shop_gid) if not o.get("refunds") and not o["test"])


def presentment(order: dict) -> str:
    return order["totalPriceSet"]["presentmentMoney"]["currencyCode"]


def refund_of(amount, currency: str) -> dict:
    return {"createdAt": "2026-11-19T12:00:00Z", "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {"amount": amount,
                                                                                   "currencyCode": currency}}}]}


def total(money: str, amount) -> Plant:
    """The order's `money` total (shopMoney or presentmentMoney) set to `amount`, as the API would send it."""
    def plant(store: ShopifyStore, gid: str) -> str:
        order = an_order(store, gid)
        totals = order["totalPriceSet"]
        store.edit_order(order["id"], {"totalPriceSet": {**totals, money: {**totals[money], "amount": amount}}})
        return legacy_id(order["id"])
    return plant


def missing_total(store: ShopifyStore, gid: str) -> str:
    order = an_order(store, gid)
    store.edit_order(order["id"], {"totalPriceSet": None})
    return legacy_id(order["id"])


def refund(amount, currency: Callable[[dict], str] = presentment) -> Plant:
    """A successful refund of `amount` on an order (the transaction's id is what the page names)."""
    def plant(store: ShopifyStore, gid: str) -> str:
        order = an_order(store, gid)
        stored = store.add_refund(order["id"], refund_of(amount, currency(order)))
        return legacy_id(stored["transactions"][0]["id"])
    return plant


def refund_in_another_currency(order: dict) -> str:
    return "JPY" if presentment(order) != "JPY" else "USD"


def zero_presentment_with_refund(store: ShopifyStore, gid: str) -> str:
    order = an_order(store, gid)
    totals = order["totalPriceSet"]
    store.edit_order(order["id"], {"totalPriceSet": {**totals, "presentmentMoney": {
        **totals["presentmentMoney"], "amount": "0.00"}}})
    store.add_refund(order["id"], refund_of("1.00", presentment(order)))
    return legacy_id(order["id"])


def timezone(name: str) -> Plant:
    def plant(store: ShopifyStore, gid: str) -> str:
        store.shops[gid]["ianaTimezone"] = name
        return legacy_id(gid)
    return plant


NOT_DECIMAL = "amount_not_a_decimal_string"

CORPUS = [
    BadInput("order without a total", missing_total, "missing_total"),
    BadInput("total as a JSON number", total("shopMoney", Decimal("12.30")), NOT_DECIMAL),
    BadInput("total with a decimal comma", total("shopMoney", "12,50"), NOT_DECIMAL),
    BadInput("total NaN", total("presentmentMoney", "NaN"), NOT_DECIMAL),
    BadInput("total Infinity", total("presentmentMoney", "Infinity"), NOT_DECIMAL),
    BadInput("total 1e400", total("shopMoney", "1e400"), NOT_DECIMAL),
    BadInput("total of seventeen digits", total("shopMoney", "12345678901234567.00"), NOT_DECIMAL),
    BadInput("total with spaces", total("shopMoney", " 12.00"), NOT_DECIMAL),
    BadInput("total with an underscore", total("shopMoney", "1_000.00"), NOT_DECIMAL),
    BadInput("total empty", total("presentmentMoney", ""), NOT_DECIMAL),
    BadInput("total negative", total("shopMoney", "-12.00"), "negative_amount"),
    BadInput("refund amount not a string", refund(Decimal("1.00")), NOT_DECIMAL),
    BadInput("refund amount negative", refund("-5.00"), "negative_amount"),
    BadInput("refund in another currency than the order's presentment", refund("1.00", refund_in_another_currency),
             "shop_refund_currency_mismatch"),
    BadInput("refunds on a zero presentment total", zero_presentment_with_refund,
             "shop_zero_presentment_total_with_refunds"),
    BadInput("shop timezone not an IANA name", timezone("Mars/Olympus_Mons"), "shop_unknown_timezone"),
    BadInput("shop timezone as an offset", timezone("+05:30"), "shop_unknown_timezone"),
]


@pytest.fixture(scope="module")
def dag(airflow_db):
    return load_dag("shop_daily_revenue")


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.kind for bad in CORPUS])
def test_bad_input_fails_only_its_shop_naming_the_rule_and_the_records(bad, dag, monkeypatch, tiny_shops: Path,
                                                                       tiny_shops_warehouse, slack, tmp_path):
    url = tiny_shops_warehouse
    store = ShopifyStore.from_snapshot(tiny_shops)
    bad_gid, good_gid = list(store.shops)
    bad_id, good_id = legacy_id(bad_gid), legacy_id(good_gid)
    named = bad.plant(store, bad_gid)
    kept = shop_fingerprint(url, bad_id)
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
    assert state == "failed", tasks
    records = shop_records(url)
    assert records[bad_id][:2] == ("failed", False) and bad.rule in records[bad_id][2], records[bad_id]
    # Bad values stop staging (the record's summary lists them); broken rules are the integrity check's records.
    assert named in records[bad_id][2] + integrity_discrepancies(url, bad_id)
    assert records[good_id][:2] == ("certified", True)
    assert shop_fingerprint(url, bad_id) == kept
    assert len(slack.texts) == 1 and bad.rule in slack.texts[0] and named in slack.texts[0], slack.texts
    assert left_open(url) == []


def test_a_refused_shop_leaves_viz_byte_for_byte_when_it_is_the_only_shop_asked_for(
        dag, monkeypatch, tiny_shops: Path, tiny_shops_warehouse, slack, tmp_path):
    url = tiny_shops_warehouse
    store = ShopifyStore.from_snapshot(tiny_shops)
    bad_gid = next(iter(store.shops))
    total("shopMoney", "1e400")(store, bad_gid)
    before = viz_fingerprint(url)
    state, _ = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path,
                            run_conf={"shops": [legacy_id(bad_gid)]})
    assert state == "failed" and viz_fingerprint(url) == before and left_open(url) == []


def test_injection_strings_in_dag_params_are_refused_as_values(dag, monkeypatch, tiny_shops: Path,
                                                               tiny_shops_warehouse, slack, tmp_path):
    """A shop id is compared with the connection's shops, never put into SQL; a date is a date or refused."""
    from airflow.sdk.exceptions import ParamValidationError

    url = tiny_shops_warehouse
    store = ShopifyStore.from_snapshot(tiny_shops)
    before = viz_fingerprint(url)
    injected = ["1001' or '1'='1", "1; drop table viz.shop_daily_revenue; --"]
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path, run_conf={"shops": injected})
    assert state == "failed" and tasks["select_shops"] == "failed", tasks
    assert len(slack.texts) == 1 and all(text in slack.texts[0] for text in injected), slack.texts
    for param in ("as_of", "from", "to"):
        with pytest.raises(ParamValidationError):
            run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path,
                         run_conf={param: "2026-11-01'; drop table viz.shop; --"})
    assert viz_fingerprint(url) == before and left_open(url) == []
