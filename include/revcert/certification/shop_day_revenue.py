"""Daily order revenue of a Shopify shop (METHODOLOGY.md Part B), as small pure functions.

This is the independent derivation of shop-days (Part C check 4): it shares no
code with the SQL mart (`sql/mart/mart_shop_day.sql`), which must agree with
it to the cent. Reconciliation uses the same functions on orders fetched from
the source. Amounts are exact: a refund in the presentment currency is
converted at the order's own rate (shop money / presentment money of its
total) as an exact fraction, then rounded half to even to the cent, per
transaction.

Readings of the rules (docs/methodology-decisions.md):
- "Fully refunded" compares in the currency the refunds were made in: the
  successful refund transactions (presentment money) add up to at least the
  order's presentment total.
- Transaction kinds and statuses are compared without regard to case (the
  GraphQL API says REFUND / SUCCESS, the REST API refund / success).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revcert.extraction.shopify_client import legacy_id

ZERO = Decimal("0.00")


class ShopRuleError(ValueError):
    """Orders or a shop that break a rule of Part B; names the rule and every order."""

    def __init__(self, rule: str, description: str, record_ids: Iterable[str]) -> None:
        self.rule = rule
        self.record_ids = sorted(set(record_ids))
        shown = ", ".join(self.record_ids[:20]) + (f" and {len(self.record_ids) - 20} more"
                                                   if len(self.record_ids) > 20 else "")
        super().__init__(f"{rule}: {description}: {shown}")


@dataclass(frozen=True)
class RefundTransaction:
    transaction_id: str
    kind: str
    status: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Refund:
    refund_id: str
    created_at: datetime
    transactions: tuple[RefundTransaction, ...]


@dataclass(frozen=True)
class Order:
    order_id: str
    created_at: datetime
    is_test: bool
    cancelled_at: datetime | None
    shop_total: Decimal
    shop_currency: str
    presentment_total: Decimal
    presentment_currency: str
    refunds: tuple[Refund, ...] = ()


@dataclass(frozen=True)
class ShopSettings:
    """What a shop's figures depend on besides its orders.

    Attributes:
        shop_id: The shop.
        iana_timezone: The shop's timezone: its days are local days there.
        currency: The shop's currency (every figure is in it).
        refunds_on_refund_date: Attribute refunds to the local date of the refund, not of the order.
    """

    shop_id: str
    iana_timezone: str
    currency: str
    refunds_on_refund_date: bool = False

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.iana_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ShopRuleError("unknown_timezone", f"the shop's timezone {self.iana_timezone!r} is not an IANA "
                                                    "name", [self.shop_id]) from None


@dataclass
class ShopDay:
    """The figures of one shop and local day (B3)."""

    shop_id: str
    day: date
    currency: str
    gross_revenue: Decimal = ZERO
    refunds: Decimal = ZERO
    order_count: int = 0
    refund_count: int = 0

    @property
    def net_revenue(self) -> Decimal:
        return self.gross_revenue - self.refunds

    def figures(self) -> dict[str, Any]:
        return {"currency": self.currency, "gross_revenue": self.gross_revenue, "refunds": self.refunds,
                "net_revenue": self.net_revenue, "order_count": self.order_count, "refund_count": self.refund_count}


def round_to_cents(value: Fraction) -> Decimal:
    """Half to even, to 0.01 (Python rounds a Fraction half to even)."""
    return (Decimal(round(value * 100)) / 100).quantize(Decimal("0.01"))


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The local date of an instant in a zone (B3): DST and half-hour offsets included."""
    return moment.astimezone(zone).date()


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants [start, end) holding every instant whose local date in `zone` is `day`.

    A local midnight can fall in a DST gap (it never happens) or an overlap (it
    happens twice), so each bound is taken at both of its folds: the earlier for
    the start, the later for the end. The span may hold a few instants of the
    neighbouring days (a midnight in a gap); whoever reads by it still asks
    `local_day` which day each instant is.
    """
    def both_folds(midnight: datetime) -> list[datetime]:
        return [midnight.replace(fold=fold).astimezone(timezone.utc) for fold in (0, 1)]

    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    return min(both_folds(start)), max(both_folds(end))


def is_successful_refund(transaction: RefundTransaction) -> bool:
    """B2: only transactions of kind refund that succeeded move money back."""
    return transaction.kind.lower() == "refund" and transaction.status.lower() == "success"


def successful_refund_transactions(order: Order) -> list[tuple[Refund, RefundTransaction]]:
    return [(refund, t) for refund in order.refunds for t in refund.transactions if is_successful_refund(t)]


def check_order(order: Order) -> None:
    """The rules an order must keep for its figures to exist; a broken one raises ShopRuleError."""
    refunded = successful_refund_transactions(order)
    wrong_currency = [t.transaction_id for _, t in refunded if t.currency != order.presentment_currency]
    if wrong_currency:
        raise ShopRuleError("refund_currency_mismatch", f"order {order.order_id} has refund transactions in another "
                            f"currency than its presentment currency {order.presentment_currency}", wrong_currency)
    if refunded and order.presentment_total == 0:
        raise ShopRuleError("zero_presentment_total_with_refunds", "refunds on an order whose presentment total is "
                            "zero cannot be converted at the order's rate", [order.order_id])


def is_fully_refunded(order: Order) -> bool:
    refunded = sum((t.amount for _, t in successful_refund_transactions(order)), Decimal(0))
    return refunded >= order.presentment_total


def counts(order: Order) -> bool:
    """B1: test orders never count; nor does an order cancelled and fully refunded."""
    if order.is_test:
        return False
    return not (order.cancelled_at is not None and is_fully_refunded(order))


def refund_in_shop_money(amount: Decimal, order: Order) -> Decimal:
    """B2: a presentment amount at the order's own rate, rounded to the cent per transaction."""
    rate = Fraction(order.shop_total) / Fraction(order.presentment_total)
    return round_to_cents(Fraction(amount) * rate)


@dataclass(frozen=True)
class Contribution:
    """What one order adds to one local day."""

    day: date
    gross_revenue: Decimal = ZERO
    refunds: Decimal = ZERO
    order_count: int = 0
    refund_count: int = 0


def order_contributions(order: Order, settings: ShopSettings) -> list[Contribution]:
    """Everything an order adds to its shop's days: its gross on its order date, its refunds on the order
    date or, for a refund-date shop, on each refund's own local date. Nothing if it does not count."""
    check_order(order)
    if not counts(order):
        return []
    zone = settings.zone()
    order_day = local_day(order.created_at, zone)
    contributions = [Contribution(order_day, gross_revenue=order.shop_total, order_count=1)]
    for refund in order.refunds:
        moved = [refund_in_shop_money(t.amount, order) for t in refund.transactions if is_successful_refund(t)]
        if moved:
            day = local_day(refund.created_at, zone) if settings.refunds_on_refund_date else order_day
            contributions.append(Contribution(day, refunds=sum(moved, ZERO), refund_count=1))
    return contributions


def shop_days(orders: Iterable[Order], settings: ShopSettings, days: set[date] | None = None) -> dict[date, ShopDay]:
    """The figures of a shop's days from its orders (only `days`, when given); an order id seen twice is refused."""
    figures: dict[date, ShopDay] = {}
    seen: set[str] = set()
    duplicates: list[str] = []
    for order in orders:
        if order.order_id in seen:
            duplicates.append(order.order_id)
        seen.add(order.order_id)
        for part in order_contributions(order, settings):
            if days is not None and part.day not in days:
                continue
            day = figures.setdefault(part.day, ShopDay(settings.shop_id, part.day, settings.currency))
            day.gross_revenue += part.gross_revenue
            day.refunds += part.refunds
            day.order_count += part.order_count
            day.refund_count += part.refund_count
    if duplicates:
        raise ShopRuleError("duplicate_order_id", "an order id names one order", duplicates)
    return figures


def shop_day(day: date, orders: Iterable[Order], settings: ShopSettings) -> ShopDay:
    """The figures of one shop-day from the orders that touch it (created that day, or refunded that day for a
    refund-date shop); a day without any is all zeros."""
    return shop_days(orders, settings, {day}).get(day, ShopDay(settings.shop_id, day, settings.currency))


# -- the API's order shape (as the source and the snapshot send it) -------------------------------

def _money(value: Any, where: str, order_id: str) -> Decimal:
    """A money amount as the API sends it: a decimal string (never a float), else a named error."""
    if not isinstance(value, str):
        raise ShopRuleError("amount_not_a_decimal_string", f"{where} is {value!r}, not a decimal string",
                            [order_id])
    try:
        amount = Decimal(value)
    except ArithmeticError:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise ShopRuleError("amount_not_a_decimal_string", f"{where} is {value!r}, not a decimal string",
                            [order_id])
    return amount


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def order_from_record(record: dict[str, Any]) -> Order:
    """An order in the GraphQL Admin API's shape (refund transactions as a list or a connection) -> Order."""
    order_id = legacy_id(record["id"])
    totals = record.get("totalPriceSet") or {}
    shop_money, presentment = totals.get("shopMoney"), totals.get("presentmentMoney")
    if not shop_money or not presentment:
        raise ShopRuleError("missing_total", "the order has no totalPriceSet (shop and presentment money)",
                            [order_id])
    refunds = []
    for refund in record.get("refunds") or []:
        transactions = refund.get("transactions") or []
        if isinstance(transactions, dict):
            transactions = [edge["node"] for edge in transactions.get("edges", [])]
        refunds.append(Refund(legacy_id(refund["id"]), _instant(refund["createdAt"]), tuple(
            RefundTransaction(legacy_id(t["id"]), t["kind"], t["status"],
                              _money(t["amountSet"]["presentmentMoney"]["amount"], f"refund transaction {t['id']}",
                                     order_id),
                              t["amountSet"]["presentmentMoney"]["currencyCode"]) for t in transactions)))
    return Order(order_id, _instant(record["createdAt"]), bool(record.get("test")),
                 _instant(record["cancelledAt"]) if record.get("cancelledAt") else None,
                 _money(shop_money["amount"], "totalPriceSet.shopMoney", order_id), shop_money["currencyCode"],
                 _money(presentment["amount"], "totalPriceSet.presentmentMoney", order_id),
                 presentment["currencyCode"], tuple(refunds))
