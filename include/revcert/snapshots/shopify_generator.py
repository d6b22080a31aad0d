"""A seeded generator of Shopify shops and their orders.

Every rule of METHODOLOGY.md Part B occurs in a snapshot of the default size:
test orders; cancelled orders that are fully refunded, partly refunded or not
refunded at all; partial refunds, several refunds on one order and several
transactions in one refund; refund transactions that failed or are pending and
transactions of other kinds (sale, void); presentment currencies other than the
shop's at awkward rates, including refunds whose conversion lands exactly on a
half cent; free orders; imported orders whose processedAt is earlier than their
createdAt; shops in timezones with DST shifts of an hour and of half an hour,
and with offsets of :30 and :45; orders minutes either side of local midnight,
on DST change days and on the project's "today" (2026-11-21, already begun in
shops east of UTC); refunds days after their order, some in the next month.

Orders are generated in time order and written as they are made, so memory
stays flat whatever the size.
"""
from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from revcert.snapshots.shopify_snapshot import Record, ShopifySnapshotWriter

CENT = Decimal("0.01")

# (IANA timezone, shop currency). The first five are the ones Part B must see: an hour's DST
# shift on either side of the Atlantic, a :30 offset without DST, a half-hour DST shift and a
# :45 offset. Shops take them in turn, so five shops already cover them.
SHOP_SETTINGS = [
    ("America/New_York", "USD"),
    ("Europe/London", "GBP"),
    ("Asia/Kolkata", "INR"),
    ("Australia/Lord_Howe", "AUD"),
    ("Pacific/Chatham", "NZD"),
    ("America/Los_Angeles", "USD"),
    ("Europe/Berlin", "EUR"),
    ("America/Toronto", "CAD"),
]

# Units of each currency per US dollar. Prices and presentment rates start from these; every
# currency here has two decimals, so a cent is the smallest amount everywhere.
PER_USD = {"USD": Decimal("1"), "GBP": Decimal("0.7893"), "EUR": Decimal("0.9214"), "INR": Decimal("83.4127"),
           "AUD": Decimal("1.5371"), "NZD": Decimal("1.6843"), "CAD": Decimal("1.3622"),
           "CHF": Decimal("0.8817"), "SEK": Decimal("10.4391")}

PRICES_USD = [Decimal(p) for p in ("9.99", "14.50", "19.99", "24.00", "39.95", "49.00", "79.90", "129.00")]

# Shop names are data that a web page must escape: an ampersand, an apostrophe and angle brackets occur.
FIRST_NAMES = ["Harbour", "Fern", "Copper", "Juniper", "Saltmarsh", "Kestrel", "Marigold", "Driftwood", "Bramble",
               "O'Neill's"]
SECOND_NAMES = ["Goods", "& Pine", "Supply Co.", "Outfitters", "Trading", "Atelier", "Provisions", "Works",
                "<Studio>", "Mercantile"]

# Relative weights of what happens to an order.
SCENARIOS = {
    "plain": 600,
    "test": 25,
    "partial_refund": 90,
    "several_refunds": 45,
    "several_transactions": 50,
    "unsuccessful_refund": 35,
    "cancelled_fully_refunded": 35,
    "cancelled_partly_refunded": 25,
    "cancelled_unrefunded": 15,
    "refunded_in_full": 20,
    "half_cent_refund": 30,
    "free": 10,
}

# Local days whose midnight gets orders minutes either side (besides DST change days and today).
MONTH_BOUNDARIES = [date(2025, 2, 1), date(2025, 7, 1), date(2026, 1, 1), date(2026, 3, 1), date(2026, 11, 1)]
TODAY = date(2026, 11, 21)


@dataclass(frozen=True)
class ShopShape:
    """What to generate.

    Attributes:
        shops: Shops to create; they take the timezones of SHOP_SETTINGS in turn.
        orders: Orders to create across all shops.
        seed: The same seed and shape give the same files, byte for byte.
        first_order_at: No order is created before this instant.
        extracted_at: Every timestamp (created, refunded, updated) is before this instant.
    """

    shops: int = 12
    orders: int = 6000
    seed: int = 20260101
    first_order_at: datetime = datetime(2025, 1, 1, tzinfo=timezone.utc)
    extracted_at: datetime = datetime(2026, 11, 21, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Shop:
    """One generated shop and what its orders need to know about it."""

    shop_id: str
    name: str
    timezone: str
    currency: str
    weight: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def record(self) -> Record:
        return {"id": self.shop_id, "name": self.name, "ianaTimezone": self.timezone, "currencyCode": self.currency}


@dataclass(frozen=True)
class Pricing:
    """An order's total in the shop's and the buyer's (presentment) currency."""

    shop_total: Decimal
    shop_currency: str
    presentment_total: Decimal
    presentment_currency: str
    shop_per_presentment: Decimal | None = None  # exact, when chosen so that conversions can tie


def money(value: Decimal) -> Decimal:
    """Round to the cent, half to even: the one rounding Part B allows."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def cents(count: int) -> Decimal:
    """A whole number of cents as an amount with exactly two decimals (a bare division would drop zeros)."""
    return (Decimal(count) / 100).quantize(CENT)


def iso_utc(moment: datetime) -> str:
    """The API's datetime form: UTC, whole seconds, `Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dst_change_days(zone: ZoneInfo, years: tuple[int, ...] = (2025, 2026)) -> list[date]:
    """Local days on which the zone's UTC offset changes (none for a zone without DST)."""
    day, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    changes = []
    while day <= last:
        following = day + timedelta(days=1)
        if (datetime.combine(day, time(0), tzinfo=zone).utcoffset()
                != datetime.combine(following, time(0), tzinfo=zone).utcoffset()):
            changes.append(day)
        day = following
    return changes


def make_shops(shape: ShopShape, rng: random.Random) -> list[Shop]:
    """The shops, with names that need escaping on a web page and uneven sizes."""
    shops = []
    for index in range(shape.shops):
        timezone_name, currency = SHOP_SETTINGS[index % len(SHOP_SETTINGS)]
        first, lap = index % len(FIRST_NAMES), index // len(FIRST_NAMES)
        # Shifting the second name by the lap keeps every pair distinct for the first hundred shops.
        name = f"{FIRST_NAMES[first]} {SECOND_NAMES[(first + lap) % len(SECOND_NAMES)]}"
        if index >= len(FIRST_NAMES) * len(SECOND_NAMES):
            name += f" {index + 1}"
        shops.append(Shop(f"gid://shopify/Shop/{1001 + index}", name, timezone_name, currency, rng.randint(1, 10)))
    return shops


class ShopGenerator:
    """Makes shops and their orders, one order at a time. `generate_shops` writes them to disk."""

    def __init__(self, shape: ShopShape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        self.shops = make_shops(shape, self.rng)
        self.order_numbers = {shop.shop_id: 1000 for shop in self.shops}
        self.next_ids = {"Order": 5_600_000_000_000, "Refund": 910_000_000_000, "OrderTransaction": 7_200_000_000_000}
        self.counts = {"refunds": 0, "transactions": 0}
        # Nothing happens in the last hour before extraction, so every refund and update fits before it.
        self.latest = shape.extracted_at - timedelta(hours=1)

    def new_id(self, kind: str) -> str:
        # Shopify ids grow with time but not by one; gaps keep anyone from counting on them.
        self.next_ids[kind] += self.rng.randint(1, 97)
        return f"gid://shopify/{kind}/{self.next_ids[kind]}"

    # -- when orders happen -------------------------------------------------------------------

    def midnight_moments(self, shop: Shop) -> list[datetime]:
        """Moments minutes before and after local midnight on the days where the local date matters most."""
        zone = shop.zone
        boundaries = {TODAY, *MONTH_BOUNDARIES}
        for change_day in dst_change_days(zone):
            boundaries |= {change_day, change_day + timedelta(days=1)}
        moments = []
        for boundary in sorted(boundaries):
            minutes = self.rng.randint(1, 9)
            before = datetime.combine(boundary - timedelta(days=1), time(23, 59 - minutes, self.rng.randint(0, 59)),
                                      tzinfo=zone)
            after = datetime.combine(boundary, time(0, minutes, self.rng.randint(0, 59)), tzinfo=zone)
            moments += [m.astimezone(timezone.utc) for m in (before, after)]
        return [m for m in moments if self.shape.first_order_at <= m <= self.latest]

    def special_moments(self) -> list[tuple[datetime, Shop | None]]:
        """Every shop's midnight moments, at most a quarter of all orders, in time order."""
        specials = [(moment, shop) for shop in self.shops for moment in self.midnight_moments(shop)]
        if len(specials) > self.shape.orders // 4:
            specials = self.rng.sample(specials, self.shape.orders // 4)
        return sorted(specials, key=lambda special: special[0])

    def regular_moments(self, count: int) -> Iterator[tuple[datetime, Shop | None]]:
        """`count` moments in time order, one in each equal slot of the order period (shop chosen later)."""
        span = int((self.latest - self.shape.first_order_at).total_seconds())
        slot = max(1, span // max(count, 1))
        for index in range(count):
            offset = min(span, index * span // count + self.rng.randrange(slot))
            yield self.shape.first_order_at + timedelta(seconds=offset), None

    def order_moments(self) -> Iterator[tuple[datetime, Shop]]:
        specials = self.special_moments()
        regular = self.regular_moments(self.shape.orders - len(specials))
        for moment, shop in heapq.merge(specials, regular, key=lambda item: item[0]):
            yield moment, shop or self.rng.choices(self.shops, weights=[s.weight for s in self.shops])[0]

    # -- amounts ---------------------------------------------------------------------------------

    def shop_total(self, shop: Shop) -> Decimal:
        items = [money(self.rng.choice(PRICES_USD) * PER_USD[shop.currency]) * self.rng.randint(1, 3)
                 for _ in range(self.rng.randint(1, 4))]
        return sum(items, Decimal("0.00"))

    def pricing(self, shop: Shop, scenario: str) -> Pricing:
        """Totals in both currencies; the presentment total is derived from the shop total at the order's rate."""
        if scenario == "free":
            return Pricing(Decimal("0.00"), shop.currency, Decimal("0.00"), shop.currency)
        total = self.shop_total(shop)
        if scenario == "half_cent_refund":
            # Eighths come close to a market rate only when it is at least a half.
            near = [c for c in PER_USD if c != shop.currency and PER_USD[shop.currency] / PER_USD[c] >= Decimal("0.5")]
            return self.tie_pricing(total, shop.currency, self.rng.choice(near))
        if self.rng.randint(1, 100) > 35:
            return Pricing(total, shop.currency, total, shop.currency)
        presentment = self.rng.choice([c for c in PER_USD if c != shop.currency])
        drift = Decimal(self.rng.randint(-300, 300)) / Decimal(10000)
        rate = (PER_USD[presentment] / PER_USD[shop.currency] * (1 + drift)).quantize(Decimal("0.000001"))
        return Pricing(total, shop.currency, money(total * rate), presentment)

    def tie_pricing(self, target: Decimal, shop_currency: str, presentment: str) -> Pricing:
        """Totals whose ratio is a whole number of eighths (near the market rate), so a refund can land on a half cent.

        With shop money / presentment money = k/8 (k not a multiple of 8) some cent amount in
        every run of eight converts to exactly half a cent more than a whole cent.
        """
        eighths = int((PER_USD[shop_currency] / PER_USD[presentment] * 8).to_integral_value())
        if eighths % 8 == 0:
            eighths += 1
        ratio = Decimal(eighths) / 8
        presentment_cents = max(16, int((target / ratio / Decimal("0.08")).to_integral_value()) * 8)
        presentment_total = cents(presentment_cents)
        shop_total = presentment_total * ratio
        assert money(shop_total) == shop_total, "eight-cent steps times eighths are whole cents"
        return Pricing(money(shop_total), shop_currency, presentment_total, presentment, ratio)

    def tie_amount(self, ratio: Decimal, limit_cents: int) -> Decimal:
        """A presentment amount below `limit_cents` whose conversion is a whole cent and a half exactly."""
        start = self.rng.randint(1, max(1, limit_cents - 8))
        for amount in range(start, start + 8):
            if (Decimal(amount) * ratio) % 1 == Decimal("0.5"):
                return cents(amount)
        raise AssertionError(f"no half-cent amount for ratio {ratio}")  # k/8 with k % 8 != 0 always has one

    def part_of(self, total: Decimal, low: int, high: int) -> Decimal:
        """Between low% and high% of a total, at least a cent."""
        return max(CENT, money(total * self.rng.randint(low, high) / 100))

    def split(self, total: Decimal, parts: int) -> list[Decimal]:
        """A total in `parts` positive cent amounts that add up to it exactly."""
        whole = int(total * 100)
        if whole < parts:
            return [total]
        cuts = sorted(self.rng.sample(range(1, whole), parts - 1))
        return [cents(b - a) for a, b in zip([0, *cuts], [*cuts, whole], strict=True)]

    # -- refunds -----------------------------------------------------------------------------------

    def transaction(self, kind: str, status: str, amount: Decimal, currency: str) -> Record:
        self.counts["transactions"] += 1
        return {"id": self.new_id("OrderTransaction"), "kind": kind, "status": status,
                "amountSet": {"presentmentMoney": {"amount": str(amount), "currencyCode": currency}}}

    def refund(self, created_at: datetime, transactions: list[tuple[str, str, Decimal]], currency: str) -> Record:
        self.counts["refunds"] += 1
        return {"id": self.new_id("Refund"), "createdAt": iso_utc(created_at),
                "transactions": [self.transaction(kind, status, amount, currency)
                                 for kind, status, amount in transactions]}

    def refund_times(self, after: datetime, count: int, *, soon: bool = False) -> list[datetime]:
        """`count` moments after `after`: within minutes when `soon`, else hours to forty days later."""
        room = int((self.latest - after).total_seconds())
        longest = min(room, 600 if soon else 40 * 86400)
        shortest = min(longest, 1 if soon else 3600)
        return sorted(after + timedelta(seconds=self.rng.randint(shortest, longest)) for _ in range(count))

    def refunds_for(self, scenario: str, pricing: Pricing, created: datetime,
                    cancelled: datetime | None) -> list[Record]:
        """The refunds a scenario calls for, in presentment money (as Shopify records refund transactions)."""
        total, currency = pricing.presentment_total, pricing.presentment_currency
        after = cancelled or created
        soon = cancelled is not None
        if scenario == "partial_refund" or (scenario == "test" and self.rng.randint(1, 3) == 1):
            return [self.refund(self.refund_times(after, 1)[0], [("REFUND", "SUCCESS", self.part_of(total, 5, 90))],
                                currency)]
        if scenario == "several_refunds":
            count = self.rng.randint(2, 3)
            amounts = self.split(self.part_of(total, 20, 90), count)
            return [self.refund(moment, [("REFUND", "SUCCESS", amount)], currency)
                    for moment, amount in zip(self.refund_times(after, len(amounts)), amounts, strict=True)]
        if scenario == "several_transactions":
            # A refund split across two payment methods, sometimes with a failed attempt or a void beside it.
            transactions = [("REFUND", "SUCCESS", amount) for amount in self.split(self.part_of(total, 30, 100), 2)]
            extra = self.rng.choice([None, ("REFUND", "FAILURE"), ("VOID", "SUCCESS")])
            if extra:
                transactions.insert(0, (*extra, self.part_of(total, 10, 50)))
            return [self.refund(self.refund_times(after, 1)[0], transactions, currency)]
        if scenario == "unsuccessful_refund":
            amount = self.part_of(total, 20, 100)
            transactions = [("REFUND", self.rng.choice(["FAILURE", "PENDING"]), amount)]
            transactions.append(self.rng.choice([("REFUND", "FAILURE", amount), ("VOID", "SUCCESS", amount),
                                                 ("SALE", "SUCCESS", self.part_of(total, 5, 20))]))
            return [self.refund(self.refund_times(after, 1)[0], transactions, currency)]
        if scenario in ("cancelled_fully_refunded", "refunded_in_full"):
            return [self.refund(self.refund_times(after, 1, soon=soon)[0], self.full_refund(pricing), currency)]
        if scenario == "cancelled_partly_refunded":
            # The rest of the total sits in a pending (or failed) transaction: a naive sum would call it full.
            refunded = self.part_of(total, 30, 80)
            rest = total - refunded
            transactions = [("REFUND", "SUCCESS", refunded)]
            if rest > 0:
                transactions.append(("REFUND", self.rng.choice(["PENDING", "FAILURE"]), rest))
            return [self.refund(self.refund_times(after, 1, soon=True)[0], transactions, currency)]
        if scenario == "half_cent_refund":
            assert pricing.shop_per_presentment is not None
            limit = int(total * 100) // 2
            amounts = [self.tie_amount(pricing.shop_per_presentment, limit) for _ in range(self.rng.randint(1, 2))]
            return [self.refund(self.refund_times(after, 1)[0], [("REFUND", "SUCCESS", a) for a in amounts],
                                currency)]
        return []

    def full_refund(self, pricing: Pricing) -> list[tuple[str, str, Decimal]]:
        """Transactions refunding the whole total.

        In another currency the whole total goes back in one transaction, so its conversion is
        the shop total exactly; split transactions could round a cent short of it, and whether
        that is "fully refunded" is a question for the methodology, not for generated data.
        """
        total = pricing.presentment_total
        parts = 1 if pricing.presentment_currency != pricing.shop_currency else self.rng.randint(1, 2)
        transactions = [("REFUND", "SUCCESS", amount) for amount in self.split(total, parts)]
        if self.rng.randint(1, 4) == 1:
            transactions.insert(0, ("REFUND", "FAILURE", total))
        return transactions

    # -- orders ----------------------------------------------------------------------------------

    def order(self, created: datetime, shop: Shop) -> Record:
        scenario = self.rng.choices(list(SCENARIOS), weights=list(SCENARIOS.values()))[0]
        pricing = self.pricing(shop, scenario)
        cancelled = None
        if scenario.startswith("cancelled") or (scenario == "free" and self.rng.randint(1, 2) == 1):
            cancelled = self.refund_times(created, 1)[0] if scenario == "cancelled_unrefunded" else \
                self.refund_times(created, 1, soon=True)[0]
        refunds = self.refunds_for(scenario, pricing, created, cancelled)
        processed = created
        if self.rng.randint(1, 1000) <= 15:
            # An order imported from another system: processed (sold) hours before Shopify created it.
            processed = created - timedelta(seconds=self.rng.randint(3600, 72 * 3600))
        self.order_numbers[shop.shop_id] += 1
        return {
            "id": self.new_id("Order"),
            "shopId": shop.shop_id,
            "name": f"#{self.order_numbers[shop.shop_id]}",
            "createdAt": iso_utc(created),
            "updatedAt": iso_utc(self.updated_at(created, cancelled, refunds)),
            "processedAt": iso_utc(processed),
            "test": scenario == "test",
            "cancelledAt": iso_utc(cancelled) if cancelled else None,
            "currencyCode": shop.currency,
            "presentmentCurrencyCode": pricing.presentment_currency,
            "totalPriceSet": {
                "shopMoney": {"amount": str(pricing.shop_total), "currencyCode": pricing.shop_currency},
                "presentmentMoney": {"amount": str(pricing.presentment_total),
                                     "currencyCode": pricing.presentment_currency},
            },
            "refunds": refunds,
        }

    def updated_at(self, created: datetime, cancelled: datetime | None, refunds: list[Record]) -> datetime:
        """After the last thing that happened to the order; now and then much later (a note or tag edited)."""
        latest = max([created, cancelled or created,
                      *(datetime.fromisoformat(r["createdAt"]) for r in refunds)])
        later = self.rng.randint(86400, 60 * 86400) if self.rng.randint(1, 100) <= 4 else self.rng.randint(0, 3600)
        return min(latest + timedelta(seconds=later), max(latest, self.latest))


def generate_shops(out: Path, shape: ShopShape | None = None) -> dict[str, int]:
    """Generate shops and orders into `out`; returns how many shops, orders, refunds and transactions it wrote.

    Args:
        out: The snapshot directory (created if missing; its two files are replaced).
        shape: What to generate; the defaults give every situation of METHODOLOGY.md Part B.
    """
    shape = shape or ShopShape()
    with ShopifySnapshotWriter(out) as writer:
        generator = ShopGenerator(shape)
        for shop in generator.shops:
            writer.write_shop(shop.record())
        for created, shop in generator.order_moments():
            writer.write_order(generator.order(created, shop))
        return {**writer.counts, **generator.counts}
