"""The Shopify snapshot directory: read and written line by line, refusing what no source sends."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from revcert.snapshots.shopify_snapshot import (
    ShopifySnapshotError,
    ShopifySnapshotWriter,
    read_orders,
    read_shops,
)
from revcert.standins.shopify.store import ShopifyStore

SHOP = {"id": "gid://shopify/Shop/1001", "name": "Fern & Pine", "ianaTimezone": "Pacific/Chatham",
        "currencyCode": "NZD"}


def order(number: int, shop_id: str = SHOP["id"]) -> dict:
    return {"id": f"gid://shopify/Order/{number}", "shopId": shop_id, "name": f"#{number}",
            "createdAt": "2026-03-01T10:00:00Z", "updatedAt": "2026-03-01T10:05:00Z",
            "processedAt": "2026-03-01T10:00:00Z", "test": False, "cancelledAt": None, "currencyCode": "NZD",
            "presentmentCurrencyCode": "NZD",
            "totalPriceSet": {"shopMoney": {"amount": "12.30", "currencyCode": "NZD"},
                              "presentmentMoney": {"amount": "12.30", "currencyCode": "NZD"}},
            "refunds": []}


def write(directory: Path, orders: list[dict], shops: list[dict] | None = None) -> Path:
    with ShopifySnapshotWriter(directory) as writer:
        for shop in [SHOP] if shops is None else shops:
            writer.write_shop(shop)
        for record in orders:
            writer.write_order(record)
    return directory


def test_written_records_read_back_equal_with_numbers_as_decimal(tmp_path: Path):
    with_number = {**order(1), "extra": Decimal("0.10")}
    with ShopifySnapshotWriter(tmp_path) as writer:
        writer.write_shop(SHOP)
        writer.write_order(with_number)
        writer.write_order(order(2))
        assert writer.counts == {"shops": 1, "orders": 2}
    assert list(read_shops(tmp_path)) == [SHOP]
    back = list(read_orders(tmp_path))
    assert back == [with_number, order(2)]
    assert str(back[0]["extra"]) == "0.10" and isinstance(back[0]["extra"], Decimal)


def test_an_empty_snapshot_still_has_both_files(tmp_path: Path):
    write(tmp_path, [], shops=[])
    assert list(read_shops(tmp_path)) == [] and list(read_orders(tmp_path)) == []


def test_a_missing_orders_file_is_an_error_naming_it(tmp_path: Path):
    write(tmp_path, [])
    (tmp_path / "orders.jsonl").unlink()
    with pytest.raises(ShopifySnapshotError, match=r"orders\.jsonl: missing"):
        list(read_orders(tmp_path))


@pytest.mark.parametrize("bad_line, reason", [
    ('{"id": "gid://shopify/Order/3", "total": NaN}', "NaN is not a JSON number"),
    ('{"id": "gid://shopify/Order/3", "total": -Infinity}', "-Infinity is not a JSON number"),
    ('{"id": "gid://shopify/Order/3", ', "not a JSON record"),
    ('["gid://shopify/Order/3"]', "must be a JSON object"),
])
def test_unreadable_lines_are_refused_naming_file_and_line(tmp_path: Path, bad_line: str, reason: str):
    write(tmp_path, [order(1)])
    with (tmp_path / "orders.jsonl").open("a", encoding="utf-8") as out:
        out.write("\n" + bad_line + "\n")
    with pytest.raises(ShopifySnapshotError, match=r"orders\.jsonl:3: ") as refused:
        list(read_orders(tmp_path))
    assert reason in str(refused.value)


def test_the_store_refuses_duplicate_order_ids_naming_them(tmp_path: Path):
    write(tmp_path, [order(1), order(2), order(1), order(3), order(2)])
    with pytest.raises(ShopifySnapshotError, match="duplicate order id") as refused:
        ShopifyStore.from_snapshot(tmp_path)
    assert "gid://shopify/Order/1 (again on line 3)" in str(refused.value)
    assert "gid://shopify/Order/2 (again on line 5)" in str(refused.value)


def test_the_store_refuses_orders_of_unknown_shops_naming_them(tmp_path: Path):
    write(tmp_path, [order(1), order(2, "gid://shopify/Shop/9999")])
    with pytest.raises(ShopifySnapshotError, match=r"orders\.jsonl:2: order gid://shopify/Order/2 belongs to shop "
                                                   r"gid://shopify/Shop/9999, which is not in shops\.jsonl"):
        ShopifyStore.from_snapshot(tmp_path)


def test_the_store_refuses_orders_it_cannot_index(tmp_path: Path):
    write(tmp_path, [order(1), {**order(2), "updatedAt": None}, {**order(3), "createdAt": "2026-03-01T10:00:00"}])
    with pytest.raises(ShopifySnapshotError, match=r"orders\.jsonl:2: order without updatedAt"):
        ShopifyStore.from_snapshot(tmp_path)
    write(tmp_path, [order(1), {**order(3), "createdAt": "2026-03-01T10:00:00"}])
    with pytest.raises(ShopifySnapshotError, match=r"orders\.jsonl:2: .*has no UTC offset"):
        ShopifyStore.from_snapshot(tmp_path)


def test_the_store_refuses_a_shop_listed_twice(tmp_path: Path):
    write(tmp_path, [], shops=[SHOP, SHOP])
    with pytest.raises(ShopifySnapshotError, match="duplicate shop id gid://shopify/Shop/1001"):
        ShopifyStore.from_snapshot(tmp_path)


def test_the_store_keeps_each_order_exactly_as_written(tmp_path: Path):
    write(tmp_path, [order(2), order(1)])
    store = ShopifyStore.from_snapshot(tmp_path)
    assert store.order_count() == 2
    assert list(store.orders(SHOP["id"])) == [order(1), order(2)]
    assert store.order("gid://shopify/Order/2") == order(2)
