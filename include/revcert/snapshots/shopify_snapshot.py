"""The Shopify snapshot directory: `shops.jsonl` and `orders.jsonl`.

`shops.jsonl` holds one shop per line (`id`, `name`, `ianaTimezone`,
`currencyCode`). `orders.jsonl` holds one order per line in the shape the
GraphQL Admin API returns it, with a `shopId` naming its shop: Shopify GIDs
for ids, decimal strings for amounts ("12.30"), ISO 8601 UTC datetimes with
`Z`, and `refunds[].transactions[]` as plain lists.

Both files are read and written one line at a time, so a snapshot of a million
orders never has to fit in memory. JSON numbers are read as Decimal; a NaN or
Infinity is refused, because no source sends one and a float would follow.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from revcert.money import dumps_exact

Record = dict[str, Any]

SHOPS_FILE = "shops.jsonl"
ORDERS_FILE = "orders.jsonl"


class ShopifySnapshotError(ValueError):
    """A snapshot file that cannot be read, naming the file and line."""


def _refuse_constant(name: str) -> Any:
    # money.loads_exact lets json's NaN/Infinity extension through as a float; a snapshot must not.
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every line: json.loads with hooks would build a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)


def parse_record(text: str | bytes) -> Any:
    """Parse one JSON value with numbers as Decimal, refusing NaN and Infinity.

    Raises:
        ValueError: The text is not strict JSON (or not UTF-8).
    """
    return _DECODER.decode(text.decode("utf-8") if isinstance(text, bytes) else text)


def read_lines(path: Path) -> Iterator[tuple[int, str, Record]]:
    """Yield (line number, line text, record) for each non-blank line of a JSON Lines file.

    The text is handed out beside the record so a server can keep the line as it
    is instead of a tree of objects per record.

    Raises:
        ShopifySnapshotError: A line is not JSON or not an object (naming file and line).
    """
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text:
                continue
            try:
                record = parse_record(text)
            except ValueError as error:
                raise ShopifySnapshotError(f"{path}:{number}: not a JSON record ({error})") from error
            if not isinstance(record, dict):
                raise ShopifySnapshotError(f"{path}:{number}: a record must be a JSON object")
            yield number, text, record


def read_shops(directory: Path) -> Iterator[Record]:
    """The shops of a snapshot, in file order.

    Raises:
        ShopifySnapshotError: The file is missing or a line is unreadable.
    """
    yield from (record for _, _, record in read_lines(_required(directory, SHOPS_FILE)))


def read_orders(directory: Path) -> Iterator[Record]:
    """The orders of a snapshot, in file order, one at a time.

    Raises:
        ShopifySnapshotError: The file is missing or a line is unreadable.
    """
    yield from (record for _, _, record in read_lines(_required(directory, ORDERS_FILE)))


def _required(directory: Path, name: str) -> Path:
    # Unlike an org snapshot, a shop snapshot without its orders file is a mistake, not an empty shop.
    path = Path(directory) / name
    if not path.is_file():
        raise ShopifySnapshotError(f"{path}: missing (a Shopify snapshot holds {SHOPS_FILE} and {ORDERS_FILE})")
    return path


class ShopifySnapshotWriter:
    """Writes shops and orders line by line, streaming to disk. Use as a context manager.

    Both files are created at once, so a snapshot with no orders still has an
    (empty) orders file.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._shops: IO[str] = (self.directory / SHOPS_FILE).open("w", encoding="utf-8")
        self._orders: IO[str] = (self.directory / ORDERS_FILE).open("w", encoding="utf-8")
        self.counts: dict[str, int] = {"shops": 0, "orders": 0}

    def write_shop(self, shop: Record) -> None:
        self._shops.write(dumps_exact(shop) + "\n")
        self.counts["shops"] += 1

    def write_order(self, order: Record) -> None:
        self._orders.write(dumps_exact(order) + "\n")
        self.counts["orders"] += 1

    def close(self) -> None:
        self._shops.close()
        self._orders.close()

    def __enter__(self) -> ShopifySnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
