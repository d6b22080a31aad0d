"""One shop's published days against what Shopify holds now: read from the source, never from staging.

Staging is read only to name the orders whose current state differs from what
was staged, and for the refund attribution the published figures were computed
under.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from revcert.certification.shop_checks import read_staged_shop
from revcert.certification.shop_day_revenue import Order, ShopRuleError, ShopSettings, order_from_record
from revcert.extraction.errors import ExtractionError, SourceDataError
from revcert.extraction.shopify_client import ShopifyClient, legacy_id
from revcert.extraction.shopify_extract import order_pages_for
from revcert.reconciliation.ledger import last_published_day, record_shop, record_shop_failure, stored_shop_days
from revcert.reconciliation.shop_comparison import (
    Comparison,
    compare_shop,
    last_complete_day,
    reconciliation_days,
    source_search,
)
from revcert.warehouse.connection import connect


@dataclass(frozen=True)
class ShopComparison:
    shop_id: str
    comparisons: list[Comparison]
    orders_read: int


def read_source_orders(client: ShopifyClient, settings: ShopSettings, days: list[date]) -> list[Order]:
    """Every order at the source that can count on `days`, as the revenue function reads orders."""
    _, pages = order_pages_for(client, source_search(days, settings), client.settings)
    return [order_from_record(record) for page in pages for record in page]


def compare_shop_with_source(dsn: str, client: ShopifyClient, shop_id: str, *, days: int,
                             last_day: date | None = None, first_day: date | None = None,
                             now: datetime) -> ShopComparison:
    """Recompute a shop's days from the source and compare them with the published figures.

    The days are `first_day`..`last_day` when both are given (an audit), else the `days` local days ending
    with the earliest of `last_day`, the shop's last complete local day at `now` and its last published day
    (a day not published yet is the next revenue run's to publish, not a drift of what is stored).

    Raises:
        SourceDataError: the token answers for another shop.
        ShopRuleError: an order at the source breaks a rule of Part B (named).
        ExtractionError: the source failed or refused.
    """
    shop = client.shop()
    if legacy_id(shop["id"]) != shop_id:
        raise SourceDataError(f"the access token of shop {shop_id} answers for shop {shop['id']}")
    zone_only = ShopSettings(shop_id, shop["ianaTimezone"], shop["currencyCode"])
    if first_day and last_day:
        window = reconciliation_days(last_day, (last_day - first_day).days + 1)
    else:
        with connect(dsn) as conn:
            published_through = last_published_day(conn, shop_id)
        ends = (last_day, last_complete_day(now, zone_only.zone()), published_through)
        window = reconciliation_days(min(filter(None, ends)), days)
    with connect(dsn) as conn:
        staged_settings, staged = read_staged_shop(conn, shop_id, set(window))
        stored = stored_shop_days(conn, shop_id, window)
    settings = ShopSettings(shop_id, zone_only.iana_timezone, zone_only.currency,
                            refunds_on_refund_date=staged_settings.refunds_on_refund_date)
    source = read_source_orders(client, settings, window)
    return ShopComparison(shop_id, compare_shop(settings, window, source, staged, stored), len(source))


def reconcile_and_record(dsn: str, client: ShopifyClient, reconciliation_run_id: int, shop_id: str, *, days: int,
                         last_day: date | None = None, first_day: date | None = None,
                         now: datetime) -> ShopComparison:
    """compare_shop_with_source, its comparisons stored under the reconciliation, or the shop's failure stored
    (naming why, with what it spent at the source) and raised again."""
    try:
        outcome = compare_shop_with_source(dsn, client, shop_id, days=days, last_day=last_day, first_day=first_day,
                                           now=now)
    except (ExtractionError, ShopRuleError) as error:
        with connect(dsn) as conn:
            record_shop_failure(conn, reconciliation_run_id, shop_id, str(error),
                                source_requests=client.requests_sent, source_cost=client.cost_spent)
        raise
    with connect(dsn) as conn:
        record_shop(conn, reconciliation_run_id, shop_id, outcome.comparisons, orders_read=outcome.orders_read,
                    source_requests=client.requests_sent, source_cost=client.cost_spent)
    return outcome
