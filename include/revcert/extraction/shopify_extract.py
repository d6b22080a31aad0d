"""One shop's extraction batch: Shopify -> raw, with what the source said about itself.

Each shop is a batch of its own, so one shop's trouble never touches another's.
Orders are read incrementally on `updated_at` (with a lookback), whole on a
first or full extraction, or for a range of order dates when a repair asks for
one: through a bulk operation when more are due than a threshold, in pages
otherwise. Every order is appended to
`raw` as Shopify sent it and checked on arrival: an order whose amounts are not
decimal strings, or that has no total, stops the batch naming the order and the
rule. Then the source's own count of the shop's orders is taken. Merging into
staging is the next stage (revcert.staging.shopify_staging), which alone moves
the watermark.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import psycopg

from revcert.extraction.batches import fail_batch
from revcert.extraction.errors import SourceDataError
from revcert.extraction.shopify_client import ShopifyClient, legacy_id
from revcert.money import dumps_exact
from revcert.settings import Settings
from revcert.warehouse.connection import connect

log = logging.getLogger(__name__)
Mode = Literal["incremental", "full", "range"]
_MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class ShopBatch:
    """A shop's extraction batch as it opens: what it reads and from when."""

    batch_id: int
    shop_id: str
    mode: Mode
    watermark: datetime | None
    order_days: tuple[date, date] | None = None


def open_shop_batch(dsn: str, shop_id: str, *, full: bool = False,
                    order_days: tuple[date, date] | None = None) -> ShopBatch:
    """Open a batch for one shop: whole, a range of order dates (a repair), or since its watermark.

    A shop never staged is read whole, even when a range is asked for: a range repairs staging, it
    cannot start it (the shop's other days would be computed from nothing)."""
    with connect(dsn) as conn:
        row = conn.execute("select watermark from staging.shopify_watermark where shop_id = %s",
                           [shop_id]).fetchone()
        order_days = order_days if row else None
        watermark = None if full or order_days or not row else row[0]
        mode: Mode = "range" if order_days else ("incremental" if watermark else "full")
        batch_id = conn.execute(
            "insert into raw.extraction_batch (source, shop_id, mode, status, started_at) values ('shopify', %s, %s, "
            "'running', now()) returning batch_id", [shop_id, mode]).fetchone()[0]
    return ShopBatch(batch_id, shop_id, mode, watermark, order_days)


def _utc(moment: datetime) -> str:
    # Only datetimes this code computed reach the search text; nothing user-supplied does.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def search_for(batch: ShopBatch, settings: Settings) -> str | None:
    """The orders search of a batch (Shopify's query syntax), or None for every order."""
    if batch.mode == "incremental":
        return f"updated_at:>='{_utc(batch.watermark - timedelta(seconds=settings.lookback_seconds))}'"
    if batch.mode == "range":
        first, last = batch.order_days
        # A local day is within a day of the UTC day either side, whatever the shop's zone: read a little wide.
        # Orders changed since the range began are read too: a late refund on an older order moves a
        # refund-date shop's day in the range (and the order's own day is then recomputed with it).
        start = datetime.combine(first - timedelta(days=1), time(), timezone.utc)
        end = datetime.combine(last + timedelta(days=2), time(), timezone.utc)
        return f"created_at:>='{_utc(start)}' AND created_at:<'{_utc(end)}' OR updated_at:>='{_utc(start)}'"
    return None


# The Admin API's Decimal scalar as it sends money: plain digits, a point, no exponent, no spaces, no
# underscores (Python's Decimal accepts all three); 16 digits before the point fit a published figure.
_DECIMAL_STRING = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,12})?")


def _amount_problem(value: Any) -> str | None:
    """Why an amount is not money as the API sends it (the rule in brackets), or None."""
    if not (isinstance(value, str) and _DECIMAL_STRING.fullmatch(value)):
        return "is not a decimal string (rule: amount_not_a_decimal_string)"
    if Decimal(value) < 0:
        return "is negative: totals and refunds are positive amounts (rule: negative_amount)"
    return None


def order_problems(order: dict[str, Any]) -> Iterable[str]:
    """Every way an order breaks its shape as the Admin API defines it, described for a person."""
    order_id = order.get("id")
    if not order_id:
        yield f"an order without an id: {sorted(order)}"
        return
    name = f"order {legacy_id(order_id)}"
    for field in ("createdAt", "updatedAt"):
        try:
            datetime.fromisoformat(str(order.get(field)).replace("Z", "+00:00"))
        except ValueError:
            yield f"{name}: {field} = {order.get(field)!r} is not a datetime (rule: malformed_datetime)"
    totals = order.get("totalPriceSet") or {}
    for money in ("shopMoney", "presentmentMoney"):
        if not totals.get(money):
            yield f"{name}: no totalPriceSet.{money} (rule: missing_total)"
        elif problem := _amount_problem(totals[money].get("amount")):
            yield f"{name}: totalPriceSet.{money}.amount = {totals[money].get('amount')!r} {problem}"
    for refund in order.get("refunds") or []:
        for edge in (refund.get("transactions") or {}).get("edges", []):
            transaction = edge.get("node") or {}
            amount = ((transaction.get("amountSet") or {}).get("presentmentMoney") or {}).get("amount")
            if problem := _amount_problem(amount):
                yield (f"{name}: refund transaction {legacy_id(transaction.get('id', '?'))} amount = {amount!r} "
                       f"{problem}")


def _append_to_raw(conn: psycopg.Connection, batch: ShopBatch, orders: list[dict[str, Any]]) -> datetime | None:
    latest = None
    with conn.cursor().copy("copy raw.shopify_record (batch_id, shop_id, object_name, record_id, updated_at, record) "
                            "from stdin") as copy:
        for order in orders:
            try:
                updated = datetime.fromisoformat(order["updatedAt"].replace("Z", "+00:00"))
            except (KeyError, AttributeError, ValueError):
                updated = None
            copy.write_row((batch.batch_id, batch.shop_id, "Order", legacy_id(order.get("id") or ""), updated,
                            dumps_exact(order)))
            if updated and (latest is None or updated > latest):
                latest = updated
    return latest


def order_pages_for(client: ShopifyClient, search: str | None, settings: Settings) -> tuple[str, Iterator[list]]:
    """A bulk operation when more orders are due than the threshold (paging them would spend the rate
    limit for minutes); pages otherwise."""
    if client.orders_count(search) > settings.shopify_bulk_threshold:
        return "bulk", client.bulk_order_pages(search)
    return "paged", client.order_pages(search)


def extract_shop(dsn: str, batch: ShopBatch, client: ShopifyClient, settings: Settings | None = None) -> None:
    """Read one shop and its due orders into raw as `batch` (it ends `extracted`).

    Raises:
        ExtractionError: the source failed beyond the retries, refused a request, or sent
            orders that break their shape. The batch is marked failed; raw keeps what
            arrived; staging and the watermark are untouched.
    """
    settings = settings or Settings()
    try:
        shop = client.shop()
        if legacy_id(shop["id"]) != batch.shop_id:
            raise SourceDataError(f"the access token of shop {batch.shop_id} answers for shop {shop['id']}")
        search = search_for(batch, settings)
        api, pages = order_pages_for(client, search, settings)
        fetched, latest, problems = 0, None, []
        with connect(dsn) as conn:
            conn.execute("insert into raw.shopify_record (batch_id, shop_id, object_name, record_id, record) "
                         "values (%s, %s, 'Shop', %s, %s)", [batch.batch_id, batch.shop_id, batch.shop_id,
                                                             dumps_exact(shop)])
            for page in pages:
                for order in page:
                    problems.extend(order_problems(order))
                page_latest = _append_to_raw(conn, batch, page)
                latest = max(filter(None, (latest, page_latest)), default=None)
                fetched += len(page)
                conn.commit()
        if problems:
            shown = "\n  ".join(problems[:_MAX_PROBLEMS_SHOWN])
            more = f"\n  ... and {len(problems) - _MAX_PROBLEMS_SHOWN} more" if len(problems) > _MAX_PROBLEMS_SHOWN \
                else ""
            raise SourceDataError(f"shop {batch.shop_id}: {len(problems)} malformed order value(s); nothing was staged "
                                  f"and raw batch {batch.batch_id} keeps the orders as sent:\n  {shown}{more}")
        source_count = client.orders_count(None)
        with connect(dsn) as conn:
            conn.execute(
                "insert into raw.shopify_batch (batch_id, shop_id, api, search, orders_fetched, watermark_before, "
                "max_updated_at, source_count, extracted_at) values (%s, %s, %s, %s, %s, %s, %s, %s, now())",
                [batch.batch_id, batch.shop_id, api, search, fetched, batch.watermark, latest, source_count])
            conn.execute("update raw.extraction_batch set status = 'extracted' where batch_id = %s", [batch.batch_id])
        log.info("shop %s: %s orders via %s (the shop has %s)", batch.shop_id, fetched, api, source_count)
    except BaseException as error:
        fail_batch(dsn, batch.batch_id, error)
        raise
