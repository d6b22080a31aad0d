"""Published shop-days against the live source (METHODOLOGY.md B5), as small pure functions.

The source's figure of a shop-day is computed by the same pure revenue
function the certification uses (revcert.certification.shop_day_revenue), from
the orders Shopify holds now. A shop-day whose stored net revenue differs from
it by more than 0.1% of the source figure, or by anything when the source
figure is zero, is a discrepancy; the orders behind it are those whose current
state differs from what was staged.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from tabulate import tabulate

from revcert.certification.shop_day_revenue import Order, ShopSettings, local_day, shop_days

# B5: a stored figure within 0.1% of the source's is taken as equal (never when the source is zero).
RELATIVE_TOLERANCE = Decimal("0.001")
_ORDER_IDS_SHOWN = 5
_ROWS_SHOWN = 20


def sample_shops(shop_ids: Iterable[str], fraction: Decimal, seed: int, all_shops: bool = False) -> list[str]:
    """The shops a reconciliation compares: all of them, or a seeded sample of `fraction` (at least one).

    The same ids, fraction and seed always give the same sample, whatever order the ids come in."""
    ordered = sorted(set(shop_ids))
    if all_shops or not ordered:
        return ordered
    size = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return sorted(random.Random(seed).sample(ordered, size))


def reconciliation_days(last_day: date, days: int) -> list[date]:
    """The `days` local days ending with `last_day`, oldest first."""
    return [last_day - timedelta(days=back) for back in range(days - 1, -1, -1)]


def last_complete_day(now: datetime, zone: ZoneInfo) -> date:
    """The shop's last local day that has ended: a day still going would drift from what was published."""
    return now.astimezone(zone).date() - timedelta(days=1)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_search(days: Sequence[date], settings: ShopSettings) -> str:
    """The orders search (Shopify's syntax) holding every order that can count on `days`: those placed on
    them, and for a refund-date shop those changed since they began (a refund on them changes its order)."""
    zone = settings.zone()
    start = datetime.combine(min(days), time(), zone)
    end = datetime.combine(max(days) + timedelta(days=1), time(), zone)
    search = f"created_at:>='{_utc(start)}' AND created_at:<'{_utc(end)}'"
    if settings.refunds_on_refund_date:
        search += f" OR updated_at:>='{_utc(start)}'"
    return search


def touched_days(order: Order, settings: ShopSettings) -> set[date]:
    """The local days an order's figures can land on: its order date, and its refunds' dates for a
    refund-date shop."""
    zone = settings.zone()
    days = {local_day(order.created_at, zone)}
    if settings.refunds_on_refund_date:
        days |= {local_day(refund.created_at, zone) for refund in order.refunds}
    return days


def order_state(order: Order) -> tuple:
    """An order as a value that compares equal whatever order its refunds and transactions came in, and
    whatever case their kinds and statuses are written in (staging keeps them in lower case)."""
    refunds = tuple(sorted(
        (refund.refund_id, refund.created_at, tuple(sorted(
            (t.transaction_id, t.kind.lower(), t.status.lower(), t.amount, t.currency) for t in refund.transactions)))
        for refund in order.refunds))
    return (order.order_id, order.created_at, order.is_test, order.cancelled_at, order.shop_total,
            order.shop_currency, order.presentment_total, order.presentment_currency, refunds)


def differing_orders(source: Iterable[Order], staged: Iterable[Order], settings: ShopSettings
                     ) -> dict[date, list[str]]:
    """Per local day, the orders touching it whose current state differs from the staged one (or that exist
    on one side only)."""
    now = {order.order_id: order for order in source}
    then = {order.order_id: order for order in staged}
    differing: dict[date, set[str]] = {}
    for order_id in now.keys() | then.keys():
        current, before = now.get(order_id), then.get(order_id)
        if current is not None and before is not None and order_state(current) == order_state(before):
            continue
        for order in filter(None, (current, before)):
            for day in touched_days(order, settings):
                differing.setdefault(day, set()).add(order_id)
    return {day: sorted(ids, key=lambda i: (len(i), i)) for day, ids in differing.items()}


def is_discrepancy(source: Decimal, stored: Decimal | None) -> bool:
    """B5: more than 0.1% of the source figure apart, or apart at all when the source figure is zero.
    A day never published counts as zero stored."""
    difference = abs(source - (stored or Decimal(0)))
    if source == 0:
        return difference != 0
    return difference > abs(source) * RELATIVE_TOLERANCE


@dataclass(frozen=True)
class Comparison:
    """One shop-day: what the source says now against what is published."""

    shop_id: str
    day: date
    currency: str
    source_net_revenue: Decimal
    stored_net_revenue: Decimal | None
    stored_certification_id: int | None = None
    differing_order_ids: tuple[str, ...] = field(default=())

    @property
    def difference(self) -> Decimal:
        """Source minus stored: what publishing the source's figure would add."""
        return self.source_net_revenue - (self.stored_net_revenue or Decimal("0.00"))

    @property
    def relative_difference(self) -> Decimal | None:
        """The difference as a share of the source figure, to a millionth (None when that is zero)."""
        if not self.source_net_revenue:
            return None
        return (self.difference / self.source_net_revenue).quantize(Decimal("0.000001"))

    @property
    def is_discrepancy(self) -> bool:
        return is_discrepancy(self.source_net_revenue, self.stored_net_revenue)


def compare_shop(settings: ShopSettings, days: Sequence[date], source: list[Order], staged: list[Order],
                 stored: dict[date, tuple[Decimal, int]]) -> list[Comparison]:
    """Each of `days` recomputed from the source's orders, against the stored (published) figure."""
    recomputed = shop_days(source, settings, set(days))
    differing = differing_orders(source, staged, settings)
    comparisons = []
    for day in days:
        figures = recomputed.get(day)
        net = figures.net_revenue if figures else Decimal("0.00")
        stored_net, certification_id = stored.get(day, (None, None))
        comparisons.append(Comparison(settings.shop_id, day, settings.currency, net, stored_net, certification_id,
                                      tuple(differing.get(day, ()))))
    return comparisons


def comparison_table(comparisons: Sequence[Comparison], limit: int = _ROWS_SHOWN) -> str:
    """Shop, day, source, stored, difference and the first order ids, one row per shop-day, as text."""
    rows = [[c.shop_id, c.day.isoformat(), f"{c.source_net_revenue} {c.currency}",
             "not published" if c.stored_net_revenue is None else f"{c.stored_net_revenue} {c.currency}",
             f"{c.difference:+}", "discrepancy" if c.is_discrepancy else "match",
             ", ".join(c.differing_order_ids[:_ORDER_IDS_SHOWN])
             + (f" +{len(c.differing_order_ids) - _ORDER_IDS_SHOWN}" if len(c.differing_order_ids) >
                _ORDER_IDS_SHOWN else "")]
            for c in comparisons[:limit]]
    table = tabulate(rows, headers=["shop", "day", "source", "stored", "difference", "status", "orders"],
                     tablefmt="simple", disable_numparse=True)
    if len(comparisons) > limit:
        table += f"\n... and {len(comparisons) - limit} more"
    return table


def discrepancy_alert(discrepancies: Sequence[Comparison], failed_shops: dict[str, str], compared: int,
                      run_url: str) -> str:
    """The one Slack message of a reconciliation that found something, readable in a minute."""
    lines = [f":warning: *Shop revenue reconciliation*: {len(discrepancies)} of {compared} shop-day(s) differ "
             "from the source" + (f"; {len(failed_shops)} shop(s) could not be compared" if failed_shops else "")]
    if discrepancies:
        lines += ["```", comparison_table(discrepancies), "```",
                  "A repair run recomputes and certifies each shop's days through the certified path."]
    for shop_id, why in sorted(failed_shops.items()):
        lines.append(f"shop {shop_id} not compared: {why}")
    lines.append(f"Run: {run_url}")
    return "\n".join(lines)
