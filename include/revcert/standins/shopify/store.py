"""The orders the Shopify stand-in serves, held compactly so a million of them fit.

Each order is kept as its JSON line (bytes), exactly as the snapshot wrote it,
beside a small per-shop index in typed arrays: id number, created, updated and
processed instants (microseconds since the epoch). A page of orders is found
with the index and only its orders are parsed. A tree of dicts per order would
take ten times the memory.

Tests edit orders while the stand-in runs, as a merchant would: change fields,
add a refund, add an order. Each edit moves the order's `updatedAt` past every
other one, so an incremental `updated_at:>=` read sees it.
"""
from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from revcert.money import dumps_exact
from revcert.snapshots.shopify_snapshot import (
    ORDERS_FILE,
    SHOPS_FILE,
    Record,
    ShopifySnapshotError,
    parse_record,
    read_lines,
)
from revcert.standins.shopify.search import Search, epoch_microseconds, order_number

# The snapshot's order fields in the order it writes them; edits keep that order.
ORDER_FIELDS = ("id", "shopId", "name", "createdAt", "updatedAt", "processedAt", "test", "cancelledAt", "currencyCode",
                "presentmentCurrencyCode", "totalPriceSet", "refunds")

# Sort key -> the index column it orders by (ties are broken by id).
SORT_COLUMNS = {"ID": "id", "CREATED_AT": "created", "UPDATED_AT": "updated", "PROCESSED_AT": "processed"}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_SECOND = 1_000_000


def iso_from_microseconds(value: int) -> str:
    """The API's datetime text for an instant (whole seconds unless it has a fraction)."""
    moment = _EPOCH + timedelta(microseconds=value)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}" if moment.microsecond else "") + "Z"


@dataclass(frozen=True)
class OrderRow:
    """One order found by the index: its number, the value it was sorted by, and its JSON line."""

    number: int
    sort_value: int
    line: bytes

    def record(self) -> Record:
        return parse_record(self.line)


class _ShopOrders:
    """One shop's orders: the lines and their index columns, position by position."""

    def __init__(self) -> None:
        self.id = array("q")
        self.created = array("q")
        self.updated = array("q")
        self.processed = array("q")
        self.lines: list[bytes] = []
        self._sorted: dict[str, array] = {}
        # Edits only move updatedAt forward, so the latest ever stored is the latest there is: kept here,
        # each edit's stamp is found without reading every order.
        self.latest_updated = 0

    def put(self, position: int | None, key: tuple[int, int, int, int], line: bytes) -> None:
        """Append an order (position None) or replace the one at `position`."""
        columns = (self.id, self.created, self.updated, self.processed)
        self.latest_updated = max(self.latest_updated, key[2])
        if position is None:
            for column, value in zip(columns, key, strict=True):
                column.append(value)
            self.lines.append(line)
        else:
            for column, value in zip(columns, key, strict=True):
                column[position] = value
            self.lines[position] = line
        self._sorted.clear()

    def value(self, column: str, position: int) -> int:
        """One index value of the order at `position` (column: id, created, updated or processed)."""
        return getattr(self, column)[position]

    def position(self, number: int) -> int | None:
        try:
            return self.id.index(number)
        except ValueError:
            return None

    def ordered(self, column: str) -> array:
        """Positions sorted by (column, id), computed once until the next edit."""
        if column not in self._sorted:
            values, ids = getattr(self, column), self.id
            self._sorted[column] = array("q", sorted(range(len(ids)), key=lambda p: (values[p], ids[p])))
        return self._sorted[column]


def _order_key(record: Record) -> tuple[int, int, int, int]:
    """(id number, created, updated, processed) of an order record, refusing what the index cannot hold."""
    missing = [name for name in ("id", "shopId", "createdAt", "updatedAt", "processedAt") if not record.get(name)]
    if missing:
        raise ValueError(f"order without {', '.join(missing)}")
    return (order_number(str(record["id"])), epoch_microseconds(record["createdAt"]),
            epoch_microseconds(record["updatedAt"]), epoch_microseconds(record["processedAt"]))


def _line(record: Record) -> bytes:
    return dumps_exact(record).encode("utf-8")


def _gid_number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])


class ShopifyStore:
    """Shops and their orders, with the edits a merchant makes. Safe to use from several threads."""

    def __init__(self, shops: list[Record]) -> None:
        self.shops: dict[str, Record] = {}
        for shop in shops:
            if shop["id"] in self.shops:
                raise ShopifySnapshotError(f"{SHOPS_FILE}: duplicate shop id {shop['id']}")
            self.shops[shop["id"]] = shop
        self._orders = {shop_id: _ShopOrders() for shop_id in self.shops}
        self._next_number = {"Order": 0, "Refund": 0, "OrderTransaction": 0}
        self.lock = threading.RLock()

    @classmethod
    def from_snapshot(cls, directory: Path) -> ShopifyStore:
        """Load a snapshot directory.

        Raises:
            ShopifySnapshotError: A line is unreadable, an order lacks a field the index needs, an
                order id appears twice, or an order names a shop that `shops.jsonl` does not have;
                the message names the ids and lines.
        """
        directory = Path(directory)
        for name in (SHOPS_FILE, ORDERS_FILE):
            if not (directory / name).is_file():
                raise ShopifySnapshotError(f"{directory / name}: missing (a Shopify snapshot holds {SHOPS_FILE} "
                                           f"and {ORDERS_FILE})")
        store = cls([record for _, _, record in read_lines(directory / SHOPS_FILE)])
        seen: set[int] = set()
        duplicates: list[str] = []
        for number, text, record in read_lines(directory / ORDERS_FILE):
            try:
                key = _order_key(record)
            except ValueError as error:
                raise ShopifySnapshotError(f"{directory / ORDERS_FILE}:{number}: {error}") from error
            if record["shopId"] not in store.shops:
                raise ShopifySnapshotError(f"{directory / ORDERS_FILE}:{number}: order {record['id']} belongs to "
                                           f"shop {record['shopId']}, which is not in {SHOPS_FILE}")
            if key[0] in seen:
                duplicates.append(f"{record['id']} (again on line {number})")
                continue
            seen.add(key[0])
            store._orders[record["shopId"]].put(None, key, text.encode("utf-8"))
            store._count_ids(record)
        if duplicates:
            raise ShopifySnapshotError(f"{directory / ORDERS_FILE}: duplicate order id (an id names one order): "
                                       + ", ".join(duplicates))
        return store

    def _count_ids(self, record: Record) -> None:
        """Remember the highest ids in use, so ids made for edits never collide with the snapshot's."""
        numbers = self._next_number
        numbers["Order"] = max(numbers["Order"], _gid_number(record["id"]))
        for refund in record.get("refunds") or []:
            numbers["Refund"] = max(numbers["Refund"], _gid_number(refund["id"]))
            for transaction in refund.get("transactions") or []:
                numbers["OrderTransaction"] = max(numbers["OrderTransaction"], _gid_number(transaction["id"]))

    def _new_id(self, kind: str) -> str:
        self._next_number[kind] += 1
        return f"gid://shopify/{kind}/{self._next_number[kind]}"

    # -- reading -------------------------------------------------------------------------------

    def order_count(self) -> int:
        """How many orders the store holds, across all shops."""
        return sum(len(orders.lines) for orders in self._orders.values())

    def _locate(self, order_id: str) -> tuple[_ShopOrders, int]:
        number = order_number(order_id)
        for orders in self._orders.values():
            position = orders.position(number)
            if position is not None:
                return orders, position
        raise KeyError(f"no order {order_id}")

    def order(self, order_id: str) -> Record:
        """The current state of one order.

        Raises:
            KeyError: No such order.
        """
        with self.lock:
            orders, position = self._locate(order_id)
            return parse_record(orders.lines[position])

    def orders(self, shop_id: str) -> Iterator[Record]:
        """A shop's orders in id order, as they are now."""
        with self.lock:
            orders = self._orders[shop_id]
            lines = [orders.lines[p] for p in orders.ordered("id")]
        return (parse_record(line) for line in lines)

    def select(self, shop_id: str, search: Search, sort_key: str, *, reverse: bool = False,
               after: tuple[int, int] | None = None, limit: int | None = None) -> tuple[list[OrderRow], bool]:
        """One page of a shop's matching orders, in (sort value, id) order, and whether more follow.

        Args:
            after: The (sort value, id number) of the last order already seen: keyset paging, so an
                edit between pages never shifts what the next page holds.
            limit: Page size; None for every matching order.
        """
        with self.lock:
            orders = self._orders[shop_id]
            column = SORT_COLUMNS[sort_key]
            values, ids, ordered = getattr(orders, column), orders.id, orders.ordered(column)
            key = lambda p: (values[p], ids[p])  # noqa: E731
            if reverse:
                end = bisect_left(ordered, after, key=key) if after else len(ordered)
                positions: Any = (ordered[i] for i in range(end - 1, -1, -1))
            else:
                start = bisect_right(ordered, after, key=key) if after else 0
                positions = (ordered[i] for i in range(start, len(ordered)))
            page: list[OrderRow] = []
            for position in positions:
                if search.matches(partial(orders.value, position=position)):
                    if limit is not None and len(page) == limit:
                        return page, True
                    page.append(OrderRow(ids[position], values[position], orders.lines[position]))
            return page, False

    def count(self, shop_id: str, search: Search, limit: int | None = None) -> int:
        """How many of a shop's orders match, counting no further than `limit` + 1."""
        with self.lock:
            orders = self._orders[shop_id]
            found = 0
            for position in range(len(orders.lines)):
                if search.matches(partial(orders.value, position=position)):
                    found += 1
                    if limit is not None and found > limit:
                        break
            return found

    # -- edits -------------------------------------------------------------------------------------

    def _next_updated_at(self) -> int:
        """An updatedAt later than every order's (and not before now), in whole seconds like Shopify's."""
        latest = max((orders.latest_updated for orders in self._orders.values()), default=0)
        now = (datetime.now(timezone.utc).replace(microsecond=0) - _EPOCH) // timedelta(microseconds=1)
        return max(now, (latest // _ONE_SECOND + 1) * _ONE_SECOND)

    def _save(self, orders: _ShopOrders, position: int | None, record: Record, stamp: int) -> Record:
        record["updatedAt"] = iso_from_microseconds(stamp)
        record = {**{name: record[name] for name in ORDER_FIELDS if name in record}, **record}
        orders.put(position, _order_key(record), _line(record))
        return record

    def edit_order(self, order_id: str, changes: dict[str, Any]) -> str:
        """Change top-level fields of an order (e.g. `totalPriceSet`, `cancelledAt`); returns its new updatedAt.

        Raises:
            KeyError: No such order.
            ValueError: The change would alter the order's id or shop.
        """
        if {"id", "shopId"} & set(changes):
            raise ValueError("an edit cannot change an order's id or shop")
        with self.lock:
            orders, position = self._locate(order_id)
            record = {**parse_record(orders.lines[position]), **changes}
            return self._save(orders, position, record, self._next_updated_at())["updatedAt"]

    def add_refund(self, order_id: str, refund: Record) -> Record:
        """Add a refund to an order; returns it as stored.

        Missing ids (of the refund and of each transaction) are made up, and a missing
        `createdAt` is the order's new updatedAt.

        Raises:
            KeyError: No such order.
        """
        with self.lock:
            orders, position = self._locate(order_id)
            record = parse_record(orders.lines[position])
            stamp = self._next_updated_at()
            stored = {"id": refund.get("id") or self._new_id("Refund"),
                      "createdAt": refund.get("createdAt") or iso_from_microseconds(stamp),
                      "transactions": [{"id": t.get("id") or self._new_id("OrderTransaction"),
                                        **{key: value for key, value in t.items() if key != "id"}}
                                       for t in refund.get("transactions", [])]}
            record["refunds"] = [*(record.get("refunds") or []), stored]
            self._save(orders, position, record, stamp)
            self._count_ids(record)
            return stored

    def add_order(self, order: Record) -> Record:
        """Add an order to its shop (`shopId`); returns it as stored.

        Missing `id` is made up; `createdAt` and `processedAt` default to the new updatedAt;
        `test`, `cancelledAt` and `refunds` default to false, null and none.

        Raises:
            ValueError: The shop is unknown or the id is already taken.
        """
        with self.lock:
            if order.get("shopId") not in self._orders:
                raise ValueError(f"unknown shop {order.get('shopId')}")
            if order.get("id") and self._has(order["id"]):
                raise ValueError(f"order {order['id']} already exists")
            stamp = self._next_updated_at()
            created = order.get("createdAt") or iso_from_microseconds(stamp)
            record = {"test": False, "cancelledAt": None, "refunds": [], **order,
                      "id": order.get("id") or self._new_id("Order"), "createdAt": created,
                      "processedAt": order.get("processedAt") or created}
            stored = self._save(self._orders[record["shopId"]], None, record, stamp)
            self._count_ids(stored)
            return stored

    def _has(self, order_id: str) -> bool:
        try:
            self._locate(order_id)
        except KeyError:
            return False
        return True
