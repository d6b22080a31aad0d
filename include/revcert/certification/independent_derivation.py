"""The independent derivation (METHODOLOGY.md Part C, check 4): Part A a second time.

A separate implementation in Python that reads `staging` directly and shares
no code with the SQL mart. Every rounding is half to even, where the
methodology says and nowhere else, from an exact quotient of integers. It
derives every figure that is published: the bridge per business unit and in
total (net new MRR and the reporting currency included), cohort retention with
its percentages, and the detail behind them: each customer-month, each line
that carries a customer's MRR and each contract of a customer's chain. If it
agrees with the mart to the cent on all of them, two independent readings of
the rules gave the same numbers.

Money inside the derivation is integer cents, and days are day numbers
(`date.toordinal`): every figure the methodology rounds is a whole number of
cents, so sums of them are exact integer sums, and a day count is a
subtraction. Decimal comes back at the edges, in the rows compared with the
mart. A customer's months are walked once, with its daily MRR as steps over
service intervals, never day by day.
"""
from __future__ import annotations

import bisect
import gc
import hashlib
import json
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

import psycopg

from revcert.certification.forked import can_fork, forked
from revcert.sqlfiles import load_sql

UNASSIGNED = "UNASSIGNED"
# Rows of the lines read per round trip: the whole org's lines are never one result in memory.
LINES_PER_FETCH = 10_000


class DerivationError(RuntimeError):
    """The derivation met records the rules cannot handle; names the rule and the records."""


# -- what staging holds ----------------------------------------------------------------------
# Tuples, not dataclasses: an org holds one per subscription line, and a tuple is the smallest
# immutable record Python has.

class Line(NamedTuple):
    line_id: str
    contract_id: str | None
    product_id: str | None
    currency: str | None
    quantity: Decimal | None
    net_price: Decimal | None
    prorate_multiplier: Decimal | None
    start: date | None
    end: date | None
    terminated: date | None


class Contract(NamedTuple):
    contract_id: str
    account_id: str | None
    opportunity_id: str | None
    renewal_opportunity_id: str | None
    start: date | None
    end: date | None


class Product(NamedTuple):
    product_id: str
    charge_type: str | None
    term_months: Decimal | None
    name: str | None = None


class Rate(NamedTuple):
    iso_code: str
    rate: Decimal
    start: date
    next_start: date | None


class Override(Protocol):
    """A reviewed classification override: the contract, the customer it belongs to, why, and who approved it."""

    contract_id: str
    customer_account_id: str
    reason: str
    approver: str


@dataclass
class StagedOrg:
    lines: Sequence[Line]
    contracts: dict[str, Contract]
    renewed_contract_of_opportunity: dict[str, str]
    products: dict[str, Product]
    rates: dict[str, list[Rate]]
    accounts: dict[str, tuple[str | None, str | None]]  # id -> (name, business unit)
    corporate_currencies: list[str]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while an org is read or derived.

    Both create hundreds of thousands of long-lived tuples, lists and dicts of plain values, and no reference
    cycles; each pass of the collector would walk all of them again (most of the derivation's time at a
    million lines). Reference counting still frees everything let go; the collector's state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_staging(conn: psycopg.Connection) -> StagedOrg:
    """Every live record the methodology uses, straight from the staging tables (sql/certification/staged_*).

    Ids, currencies, dates and amounts repeat across records (a contract's id on each of its lines, a date on
    thousands): each distinct value is held once and shared, which keeps an org a fraction of its size. Amounts
    are shared by value: the derivation uses them only as exact quantities, which equal values are.
    """
    held = {}.setdefault

    def rows(name: str) -> list[tuple]:
        return [tuple(map(held, row, row)) for row in conn.execute(load_sql("certification", name))]

    def lines() -> list[Line]:
        """Fetched in batches through a server-side cursor: no whole-org result buffer."""
        staged: list[Line] = []
        with conn.cursor(name="staged_lines") as cursor:
            cursor.execute(load_sql("certification", "staged_lines"))
            while batch := cursor.fetchmany(LINES_PER_FETCH):
                for row in batch:
                    values = row[1:]
                    staged.append(Line(row[0], *map(held, values, values)))
        return staged

    rates: dict[str, list[Rate]] = defaultdict(list)
    with collector_paused():
        for row in rows("staged_rates"):
            rates[row[0]].append(Rate(*row))
        contracts = {row[0]: Contract(*row) for row in rows("staged_contracts")}
        return StagedOrg(
            lines=lines(),
            contracts=contracts,
            renewed_contract_of_opportunity=dict(rows("staged_renewals")),
            products={row[0]: Product(*row) for row in rows("staged_products")},
            rates=dict(rates),
            accounts={row[0]: (row[1], row[2]) for row in rows("staged_accounts")},
            corporate_currencies=[row[0] for row in rows("staged_corporate_currencies")],
        )


# -- the rules, as small pure functions ----------------------------------------------------

def half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0), rounded half to even to a whole number, exactly."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        return quotient + 1
    return quotient


@lru_cache(maxsize=65_536)
def money(cents: int) -> Decimal:
    """Whole cents as the Decimal the mart stores (scale 2). Cached: a customer's figures repeat month after
    month, and the cache's size is fixed, not the org's."""
    return Decimal(cents).scaleb(-2)


def line_mrr_cents(net_price: Decimal, quantity: Decimal, prorate_multiplier: Decimal, term_months: Decimal,
                   rate: Decimal) -> int:
    """round(NetPrice x Quantity / (P x T) / R, 2) in cents, from the exact quotient (P, T and R are positive)."""
    price_n, price_d = net_price.as_integer_ratio()
    quantity_n, quantity_d = quantity.as_integer_ratio()
    prorate_n, prorate_d = prorate_multiplier.as_integer_ratio()
    term_n, term_d = term_months.as_integer_ratio()
    rate_n, rate_d = rate.as_integer_ratio()
    return half_even(100 * price_n * quantity_n * prorate_d * term_d * rate_d,
                     price_d * quantity_d * prorate_n * term_n * rate_n)


def is_recurring(charge_type: str | None) -> bool:
    return charge_type in (None, "Recurring")


def service_period(line: Line, contract: Contract) -> tuple[date, date, bool]:
    """(start, end, nothing_to_carry) of a line; a termination ends it the day before."""
    start = line.start or contract.start
    scheduled_end = line.end or contract.end
    if start is None or scheduled_end is None:
        raise DerivationError(f"missing_service_dates: line {line.line_id}")
    end = min(scheduled_end, line.terminated - timedelta(days=1)) if line.terminated else scheduled_end
    if end < start:
        if scheduled_end >= start:
            return start, end, True
        raise DerivationError(f"line_end_before_start: line {line.line_id} ({start}..{end})")
    return start, end, False


def overlapping_rates(rates: list[Rate]) -> list[tuple[Rate, Rate]]:
    """Pairs of one currency's rates whose periods overlap (A2 gives a line exactly one rate)."""
    overlaps = []
    ordered = sorted(rates, key=lambda r: r.start)
    for i, earlier in enumerate(ordered):
        for later in ordered[i + 1:]:
            if earlier.next_start is not None and later.start >= earlier.next_start:
                break
            overlaps.append((earlier, later))
    return overlaps


def rate_at(rates: list[Rate], day: date) -> Decimal | None:
    """The rate whose period holds `day`, from one currency's rates in start order (they do not overlap)."""
    index = bisect.bisect_right(rates, day, key=lambda rate: rate.start) - 1
    if index >= 0 and (rates[index].next_start is None or day < rates[index].next_start):
        return rates[index].rate
    return None


def renewal_links(contracts: dict[str, Contract], renewed_contract_of_opportunity: dict[str, str]
                  ) -> set[tuple[str, str]]:
    """(predecessor, successor) pairs by either of CPQ's renewal links, between live contracts."""
    by_opportunity = {c.opportunity_id: c.contract_id for c in contracts.values() if c.opportunity_id}
    links = set()
    for successor in contracts.values():
        predecessor = renewed_contract_of_opportunity.get(successor.opportunity_id)
        if predecessor in contracts:
            links.add((predecessor, successor.contract_id))
    for predecessor in contracts.values():
        successor_id = by_opportunity.get(predecessor.renewal_opportunity_id)
        if successor_id:
            links.add((predecessor.contract_id, successor_id))
    return links


def contract_customers(contracts: dict[str, Contract], links: set[tuple[str, str]],
                       overrides: dict[str, str]) -> dict[str, str]:
    """The customer of every contract: the account of its chain's root (or an override's account).

    An iterative walk up the chain, so a chain of any length costs time in
    proportion to its length (no recursion limit, no path copies).

    Raises:
        DerivationError: a cycle (renewal_cycle), a contract below one (unresolved_chain), or a
            contract whose predecessors belong to different customers (merged_customers).
    """
    predecessors: dict[str, list[str]] = defaultdict(list)
    for predecessor, successor in links:
        predecessors[successor].append(predecessor)

    def parents(contract_id: str) -> list[str]:
        return [] if contract_id in overrides else sorted(predecessors.get(contract_id, ()))

    roots: dict[str, frozenset[str]] = {}
    on_cycle: set[str] = set()
    unresolved: set[str] = set()
    problems: list[str] = []
    for start in sorted(contracts):
        walk = [(start, iter(parents(start)))]
        on_walk = {start: 0}
        while walk:
            contract_id, pending = walk[-1]
            parent = next(pending, None)
            if parent is not None:
                if parent in on_walk:
                    cycle = [c for c, _ in walk[on_walk[parent]:]]
                    if not on_cycle.issuperset(cycle):
                        problems.append(f"renewal_cycle: contracts {', '.join(sorted(cycle))}")
                    on_cycle.update(cycle)
                elif parent not in roots and parent not in on_cycle and parent not in unresolved:
                    on_walk[parent] = len(walk)
                    walk.append((parent, iter(parents(parent))))
                continue
            walk.pop()
            del on_walk[contract_id]
            if contract_id in on_cycle or contract_id in roots or contract_id in unresolved:
                continue
            above = parents(contract_id)
            if contract_id in overrides:
                roots[contract_id] = frozenset([overrides[contract_id]])
            elif not above:
                roots[contract_id] = frozenset([contracts[contract_id].account_id])
            elif any(p in on_cycle or p in unresolved for p in above):
                unresolved.add(contract_id)
                problems.append(f"unresolved_chain: contract {contract_id} is below a renewal cycle")
            else:
                roots[contract_id] = frozenset().union(*(roots[p] for p in above))
    customers = {}
    for contract_id, found in sorted(roots.items()):
        if len(found) > 1:
            problems.append(f"merged_customers: contract {contract_id} has predecessors of customers "
                            f"{', '.join(sorted(found))}")
        else:
            customers[contract_id] = next(iter(found))
    if problems:
        raise DerivationError("; ".join(problems))
    return customers


def grace_days(gap_days: int, limit: int) -> int:
    """Days strictly between a contract's end and its renewal's start, if within the grace."""
    return gap_days if 1 <= gap_days <= limit else 0


def classify_movement(starting: int, ending: int, had_mrr_before: bool) -> tuple[str, int]:
    """METHODOLOGY.md A5, on a customer's starting and ending MRR of a month (in cents)."""
    if starting == 0 and ending > 0:
        return ("winback", ending) if had_mrr_before else ("new", ending)
    if starting > 0 and ending == 0:
        return "churn", -starting
    if starting > 0 and ending > starting:
        return "expansion", ending - starting
    if starting > 0 and 0 < ending < starting:
        return "contraction", ending - starting
    return "none", 0


class CalendarMonth(NamedTuple):
    """A month as the derivation walks it: its first day, its days as day numbers, and its snapshot day."""

    first: date
    first_day: int
    last_day: int
    days: int
    snapshot: date
    snapshot_day: int


@lru_cache(maxsize=4096)
def months_through(first_month: date, as_of: date) -> tuple[CalendarMonth, ...]:
    """Every month from `first_month` through the month that holds `as_of`, each snapshot on its last day or on
    the as-of date (A4). Cached: customers share a handful of cohort months."""
    months = []
    month = first_month
    while month <= as_of:
        following = (month + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
        snapshot = min(last, as_of)
        months.append(CalendarMonth(month, month.toordinal(), last.toordinal(), last.day, snapshot,
                                    snapshot.toordinal()))
        month = following
    return tuple(months)


# -- customer daily MRR as steps -----------------------------------------------------------

@dataclass(slots=True)
class ServiceInterval:
    """A recurring line that carries MRR: its MRR in cents, its real service period and its MRR period (grace)."""

    line_id: str
    mrr: int
    start: date
    end: date
    mrr_end: date
    contract_id: str = ""
    product: Product | None = None
    currency: str | None = None
    rate: Decimal = Decimal(1)


def _steps(changes: dict[int, int]) -> tuple[list[int], list[int]]:
    """(change days, value from each of them on) of a step function given as its changes per day."""
    days = sorted(changes)
    values, running = [], 0
    for day in days:
        running += changes[day]
        values.append(running)
    return days, values


@dataclass
class DailyMrr:
    """D(c, d) of one customer in cents: its value from each change day (a day number) until the next."""

    days: list[int] = field(default_factory=list)
    values: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, intervals: list[ServiceInterval]) -> DailyMrr:
        changes: dict[int, int] = defaultdict(int)
        for interval in intervals:
            changes[interval.start.toordinal()] += interval.mrr
            # A day number past 9999-12-31 ("no end") is only a number: such a line never stops in any month.
            changes[interval.mrr_end.toordinal() + 1] -= interval.mrr
        return cls(*_steps(changes))

    def first_positive_day(self) -> date | None:
        return next((date.fromordinal(d) for d, v in zip(self.days, self.values) if v > 0), None)

    def first_negative_day(self) -> date | None:
        return next((date.fromordinal(d) for d, v in zip(self.days, self.values) if v < 0), None)


def monthly_revenue_cents(intervals: list[ServiceInterval], as_of: date, months: Sequence[CalendarMonth]
                          ) -> list[int]:
    """A6 for each of `months`: round(sum over lines of MRR x real active days / days in month), in cents.

    The sum over a month is the sum of the customer's real daily MRR (no grace) over its days, so it is taken
    from the steps of that daily MRR: level x days between changes. Lines stop counting after the as-of date.
    """
    as_of_day = as_of.toordinal()
    changes: dict[int, int] = defaultdict(int)
    for interval in intervals:
        start, last = interval.start.toordinal(), min(interval.end.toordinal(), as_of_day)
        if last >= start:
            changes[start] += interval.mrr
            changes[last + 1] -= interval.mrr
    days = sorted(changes)
    deltas = [changes[day] for day in days]
    revenue, level, at, count = [], 0, 0, len(days)
    for month in months:
        while at < count and days[at] <= month.first_day:
            level += deltas[at]
            at += 1
        if at == count or days[at] > month.last_day:
            # No change within the month: every day earns the same, and the month earns one month's MRR.
            revenue.append(level)
            continue
        mrr_days, since = 0, month.first_day
        while at < count and days[at] <= month.last_day:
            mrr_days += level * (days[at] - since)
            since = days[at]
            level += deltas[at]
            at += 1
        mrr_days += level * (month.last_day - since + 1)
        revenue.append(half_even(mrr_days, month.days))
    return revenue


# -- the derivation ------------------------------------------------------------------------

def reporting_currency(org: StagedOrg) -> str:
    corporate = set(org.corporate_currencies)
    if len(corporate) > 1:
        raise DerivationError("unknown_reporting_currency: several corporate currencies: "
                              + ", ".join(sorted(corporate)))
    if corporate:
        return corporate.pop()
    currencies = {line.currency for line in org.lines}
    if len(currencies) == 1:
        return currencies.pop()
    raise DerivationError("unknown_reporting_currency: no corporate currency and several line currencies")


def check_rates(rates: dict[str, list[Rate]]) -> dict[str, list[Rate]]:
    """Each currency's rates in start order, once A2's one-rate-per-day is known to hold."""
    for iso_code, of_currency in rates.items():
        if overlaps := overlapping_rates(of_currency):
            earlier, later = overlaps[0]
            raise DerivationError(f"overlapping_conversion_rates: {iso_code} from {later.start} overlaps the rate "
                                  f"from {earlier.start} ({len(overlaps)} overlap(s))")
    return {iso_code: sorted(of_currency, key=lambda rate: rate.start) for iso_code, of_currency in rates.items()}


@dataclass
class CarriedLines:
    """The recurring lines that carry MRR, grouped by customer, and the renewal grace of each contract.

    Only the lines are grouped here: their intervals are made one customer at a time (`customer_intervals`),
    so the whole org's intervals are never in memory at once.

    Attributes:
        by_customer: customer -> its lines, in staging order.
        grace: contract -> (its service end, the days of grace its lines that end then run through).
    """

    by_customer: dict[str, list[Line]]
    grace: dict[str, tuple[date, int]]


def carried_lines(org: StagedOrg, renewal_grace_limit: int, links: set[tuple[str, str]],
                  customers: dict[str, str]) -> CarriedLines:
    """A2's lines that carry MRR (recurring, with service days), by customer, and A3's renewal grace."""
    by_customer: dict[str, list[Line]] = defaultdict(list)
    windows: dict[str, tuple[date, date]] = {}
    for line in org.lines:
        product = org.products.get(line.product_id)
        if product is None:
            raise DerivationError(f"line_without_product: line {line.line_id}")
        if not is_recurring(product.charge_type):
            continue
        contract = org.contracts.get(line.contract_id)
        if contract is None:
            raise DerivationError(f"line_without_contract: line {line.line_id}")
        start, end, nothing_to_carry = service_period(line, contract)
        if nothing_to_carry:
            continue
        window = windows.get(contract.contract_id)
        windows[contract.contract_id] = (start, end) if window is None else (min(window[0], start),
                                                                             max(window[1], end))
        by_customer[customers[contract.contract_id]].append(line)

    successors: dict[str, list[str]] = defaultdict(list)
    for predecessor, successor in links:
        if successor in windows and predecessor in windows:
            successors[predecessor].append(successor)
    grace = {}
    for contract_id, renewals in successors.items():
        earliest = min(renewals, key=lambda c: (windows[c][0], c))
        contract_end = windows[contract_id][1]
        if extra := grace_days((windows[earliest][0] - contract_end).days - 1, renewal_grace_limit):
            grace[contract_id] = (contract_end, extra)
    return CarriedLines(by_customer, grace)


def customer_intervals(lines: list[Line], org: StagedOrg, currency: str, rates: dict[str, list[Rate]],
                       grace: dict[str, tuple[date, int]]) -> list[ServiceInterval]:
    """One customer's carried lines as service intervals: each with its MRR (A2) and its renewal grace (A3)."""
    intervals = []
    one, twelve = Decimal(1), Decimal(12)
    for line in lines:
        product, contract = org.products[line.product_id], org.contracts[line.contract_id]
        start, end, _ = service_period(line, contract)
        rate = one if line.currency == currency else rate_at(rates.get(line.currency, []), start)
        if rate is None or rate <= 0:
            raise DerivationError(f"missing_conversion_rate: line {line.line_id} ({line.currency} at {start})")
        if line.net_price is None or line.quantity is None:
            raise DerivationError(f"missing_price_or_quantity: line {line.line_id}")
        prorate = line.prorate_multiplier if line.prorate_multiplier is not None else one
        term = product.term_months if product.term_months is not None else twelve
        if prorate <= 0 or term <= 0:
            raise DerivationError(f"bad_prorate_multiplier or bad_subscription_term: line {line.line_id}")
        mrr_end = end
        if contract.contract_id in grace:
            contract_end, extra = grace[contract.contract_id]
            if end == contract_end:
                mrr_end = end + timedelta(days=extra)
        intervals.append(ServiceInterval(line.line_id, line_mrr_cents(line.net_price, line.quantity, prorate, term,
                                                                      rate),
                                         start, end, mrr_end, contract.contract_id, product, line.currency, rate))
    return intervals


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole as a percentage, rounded half to even to 0.1; None when there is no whole."""
    if whole == 0:
        return None
    value = Fraction(part) * 1000 / Fraction(whole)
    return Decimal(half_even(value.numerator, value.denominator)).scaleb(-1)


class CustomerMonth(NamedTuple):
    """One customer in one month: its snapshot, its movement and its revenue (money in cents)."""

    month: date
    snapshot_date: date
    starting_mrr: int
    ending_mrr: int
    movement: str
    movement_amount: int
    recognized_revenue: int


# The same tuple CustomerMonth(...) makes, built in C: a NamedTuple's own constructor is Python code, and the
# derivation makes one per customer-month.
_customer_month = partial(tuple.__new__, CustomerMonth)


def customer_months(intervals: list[ServiceInterval], as_of: date, customer_id: str) -> list[CustomerMonth]:
    """A customer's months from its cohort (A4-A6), through the as-of month or, once its MRR has dropped to
    nothing for good, through the month it did: every later month up to the as-of date is then a month of
    nothing (no MRR, no revenue, no movement). Empty if it is not yet a customer."""
    daily = DailyMrr.of(intervals)
    negative = daily.first_negative_day()
    if negative:
        raise DerivationError(f"negative_customer_mrr: customer {customer_id} on {negative}")
    first_day = daily.first_positive_day()
    if first_day is None or first_day > as_of:
        return []
    calendar = months_through(first_day.replace(day=1), as_of)
    days, values, count = daily.days, daily.values, len(daily.days)
    if values[-1] == 0:
        # Real service never outlasts MRR service (grace only extends it), so no revenue follows either.
        last_change = date.fromordinal(min(days[-1], as_of.toordinal()))
        calendar = calendar[:(last_change.year - first_day.year) * 12 + last_change.month - first_day.month + 1]
    revenue = monthly_revenue_cents(intervals, as_of, calendar)
    first_positive, at, ending, starting = first_day.toordinal(), 0, 0, 0
    months = []
    for month, recognized in zip(calendar, revenue):
        while at < count and days[at] <= month.snapshot_day:
            ending = values[at]
            at += 1
        movement, amount = classify_movement(starting, ending, first_positive < month.first_day)
        months.append(_customer_month((month.first, month.snapshot, starting, ending, movement, amount,
                                       recognized)))
        starting = ending
    return months


# The detail's rows, field for field the columns of the mart tables they are compared with. The derivation keeps its
# own statement of them, not the schema's: check 4 refuses to run if the two part (figure_comparison.DetailTable).

class CustomerMonthRow(NamedTuple):
    month: date
    customer_id: str
    business_unit: str
    customer_name: str | None
    currency: str
    snapshot_date: date
    starting_mrr: Decimal
    movement_type: str
    movement_amount: Decimal
    ending_mrr: Decimal
    recognized_revenue: Decimal


class CustomerLineRow(NamedTuple):
    subscription_line_id: str
    customer_id: str
    contract_id: str
    product_id: str | None
    product_name: str | None
    currency_iso_code: str | None
    conversion_rate: Decimal
    line_mrr: Decimal
    service_start_date: date
    service_end_date: date
    mrr_end_date: date


class CustomerContractRow(NamedTuple):
    contract_id: str
    customer_id: str
    account_id: str | None
    start_date: date | None
    end_date: date | None
    renews_contract_ids: list[str]
    is_overridden: bool
    override_reason: str | None
    override_approver: str | None


DETAIL_COLUMNS = {"mart_customer_month": CustomerMonthRow._fields, "mart_customer_line": CustomerLineRow._fields,
                  "mart_customer_contract": CustomerContractRow._fields}
# Each row made in C from its values in field order, as `_customer_month` above: a NamedTuple's own constructor is
# Python code, and the derivation makes one per row.
_month_row = partial(tuple.__new__, CustomerMonthRow)
_line_row = partial(tuple.__new__, CustomerLineRow)
_contract_row = partial(tuple.__new__, CustomerContractRow)


@dataclass
class CustomerDetail:
    """One customer's published detail, each table's rows in its key order (columns: `DETAIL_COLUMNS`), and the
    digest of what it was derived from (`inputs_digest`). `derived` is False when the caller did not want the
    rows: they are then empty, and so is its `contribution`."""

    customer_id: str
    inputs_digest: bytes = b""
    derived: bool = True
    contribution: str = ""  # its part of the bridge and cohort sums (`contribution_text`), with its rows
    months: list[CustomerMonthRow] = field(default_factory=list)
    lines: list[CustomerLineRow] = field(default_factory=list)
    contracts: list[CustomerContractRow] = field(default_factory=list)

    def by_mart_table(self) -> dict[str, list[tuple]]:
        return {"mart_customer_month": self.months, "mart_customer_line": self.lines,
                "mart_customer_contract": self.contracts}


@dataclass
class DerivedFigures:
    """Every published figure, derived a second time, keyed like the mart tables it is compared with.

    Attributes:
        bridge: (month, business unit) -> the bridge's figures (mart_mrr_bridge).
        bridge_total: (month,) -> the bridge over all business units (mart_mrr_bridge_total).
        cohorts: (cohort month, business unit, month) -> retention figures (mart_cohort_retention).
        cohort_total: (cohort month, month) -> retention over all business units (mart_cohort_retention_total).

    Each customer's detail (its months, lines and contracts) goes to the caller one customer at a time, so
    memory holds one customer's, not the org's.
    """

    bridge: dict[tuple, dict[str, object]] = field(default_factory=dict)
    bridge_total: dict[tuple, dict[str, object]] = field(default_factory=dict)
    cohorts: dict[tuple, dict[str, object]] = field(default_factory=dict)
    cohort_total: dict[tuple, dict[str, object]] = field(default_factory=dict)
    total: str = field(default="", compare=False)  # the integer sums behind these figures (`ProvenSums.total`)

    def by_mart_table(self) -> dict[str, dict[tuple, dict[str, object]]]:
        return {"mart_mrr_bridge": self.bridge, "mart_mrr_bridge_total": self.bridge_total,
                "mart_cohort_retention": self.cohorts, "mart_cohort_retention_total": self.cohort_total}


BRIDGE_MOVEMENTS = ("new", "expansion", "contraction", "churn", "winback")
# Where each of a bridge row's sums sits in its running list of cents (and its count of active customers).
_STARTING, _NET_NEW, _ENDING, _REVENUE, _ACTIVE = 5, 6, 7, 8, 9
_BRIDGE_SLOT = {name: slot for slot, name in enumerate(BRIDGE_MOVEMENTS)}
# A cohort row's running sums: customers, active customers, the cohort's starting MRR and its ending MRR.
_COHORT_CUSTOMERS, _COHORT_ACTIVE, _COHORT_STARTING, _COHORT_ENDING = 0, 1, 2, 3


class _Sums:
    """The bridge and cohort retention per business unit, as running integer sums over customer-months.

    Every customer's months run to the same as-of month, so a bridge row is found by how many months it lies
    before the as-of month, and a cohort row by how many months it lies after its cohort month: list positions,
    not lookups. The totals over business units are the sums of the business units' rows: integers add
    exactly.
    """

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.calendar: tuple[CalendarMonth, ...] = ()
        self.bridge: dict[str, list[list[int]]] = {}  # unit -> rows, the as-of month's first
        self.cohorts: dict[tuple[date, str], list[list[int]]] = {}  # (cohort month, unit) -> rows, from the cohort
        # (cohort month, unit) -> changes, by months after the cohort, of the customers and the starting MRR of
        # the cohort's customers that have stopped for good: they count in every month up to the as-of month.
        self.stopped: dict[tuple[date, str], list[list[int]]] = {}
        self.kept: list[str] = []  # the customers left to a proven total (`ProvenSums`), not summed here

    def add(self, unit: str, months: Sequence[CustomerMonth], one: int = 1) -> None:
        """A customer's months; months after the last of them, through the as-of month, are months of nothing.
        With `one` = -1 and the months' money negated, the customer is taken out again (`remove`)."""
        calendar = months_through(months[0].month, self.as_of)
        span = len(calendar)
        if span > len(self.calendar):
            self.calendar = calendar
        bridge = self.bridge.setdefault(unit, [])
        bridge.extend([0] * 10 for _ in range(span - len(bridge)))
        cohort = self.cohorts.get((months[0].month, unit))
        if cohort is None:
            cohort = self.cohorts[(months[0].month, unit)] = [[0] * 4 for _ in range(span)]
        cohort_starting = months[0].ending_mrr
        slot_of = _BRIDGE_SLOT
        for after_cohort, (_, _, starting, ending, movement, amount, revenue) in enumerate(months):
            active = one if ending else 0  # ending MRR is never negative (negative_customer_mrr)
            sums = bridge[span - 1 - after_cohort]
            sums[_STARTING] += starting
            sums[_ENDING] += ending
            if amount:
                sums[slot_of[movement]] += amount
                sums[_NET_NEW] += amount
            sums[_REVENUE] += revenue
            sums[_ACTIVE] += active
            retention = cohort[after_cohort]
            retention[_COHORT_CUSTOMERS] += one
            retention[_COHORT_ACTIVE] += active
            retention[_COHORT_STARTING] += cohort_starting
            retention[_COHORT_ENDING] += ending
        if len(months) < span:
            stopped = self.stopped.get((months[0].month, unit))
            if stopped is None:
                stopped = self.stopped[(months[0].month, unit)] = [[0, 0] for _ in range(span)]
            stopped[len(months)][0] += one
            stopped[len(months)][1] += cohort_starting

    def remove(self, unit: str, months: Sequence[CustomerMonth]) -> None:
        """A customer's months taken out of the sums: every integer it added, subtracted. Call `trim` after the
        last removal."""
        self.add(unit, [_customer_month((month, snapshot, -starting, -ending, movement, -amount, -revenue))
                        for month, snapshot, starting, ending, movement, amount, revenue in months], -1)

    def trim(self) -> None:
        """Drop what removed customers left empty: a cohort without customers (every customer of a cohort counts in
        its first month), then a unit's bridge rows before its earliest cohort left (a unit without one), and
        calendar months before every unit's first."""
        self.cohorts = {key: rows for key, rows in self.cohorts.items() if rows[0][_COHORT_CUSTOMERS]}
        self.stopped = {key: changes for key, changes in self.stopped.items() if key in self.cohorts}
        months_of_unit: dict[str, int] = {}  # a cohort's rows run from its month through the as-of month
        for (_, unit), rows in self.cohorts.items():
            months_of_unit[unit] = max(months_of_unit.get(unit, 0), len(rows))
        self.bridge = {unit: rows[:months_of_unit[unit]] for unit, rows in self.bridge.items()
                       if unit in months_of_unit}
        longest = max(months_of_unit.values(), default=0)
        self.calendar = self.calendar[len(self.calendar) - longest:] if longest else ()

    def merge(self, other: _Sums) -> None:
        """Another part's customers' sums added to these (rows line up: by months before the as-of month in the
        bridge, by months after the cohort month in cohorts)."""
        if len(other.calendar) > len(self.calendar):
            self.calendar = other.calendar
        self.kept += other.kept
        for unit, rows in other.bridge.items():
            bridge = self.bridge.setdefault(unit, [])
            bridge.extend([0] * 10 for _ in range(len(rows) - len(bridge)))
            for sums, more in zip(bridge, rows):
                _add_into(sums, more)
        for own, theirs, width in ((self.cohorts, other.cohorts, 4), (self.stopped, other.stopped, 2)):
            for key, rows in theirs.items():
                for sums, more in zip(own.setdefault(key, [[0] * width for _ in rows]), rows):
                    _add_into(sums, more)

    def _with_stopped_customers(self) -> dict[tuple[date, str], list[list[int]]]:
        """The cohorts' rows with their stopped customers counted in (the sums themselves stay as they are)."""
        cohorts = {key: [list(sums) for sums in rows] for key, rows in self.cohorts.items()}
        for key, changes in self.stopped.items():
            customers = starting = 0
            for retention, (more_customers, more_starting) in zip(cohorts[key], changes):
                customers += more_customers
                starting += more_starting
                retention[_COHORT_CUSTOMERS] += customers
                retention[_COHORT_STARTING] += starting
        return cohorts

    def as_text(self) -> str:
        """These sums as JSON (integers and ISO dates only: exact), for `from_text` under the same as-of date."""
        return json.dumps({"calendar_from": self.calendar[0].first.isoformat() if self.calendar else None,
                           "bridge": self.bridge,
                           "cohorts": [[key[0].isoformat(), key[1], rows] for key, rows in self.cohorts.items()],
                           "stopped": [[key[0].isoformat(), key[1], rows] for key, rows in self.stopped.items()]},
                          separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str, as_of: date) -> _Sums:
        state = json.loads(text, parse_float=Decimal)  # integers only, never a float
        sums = cls(as_of)
        if state["calendar_from"]:
            sums.calendar = months_through(date.fromisoformat(state["calendar_from"]), as_of)
        sums.bridge = state["bridge"]
        sums.cohorts = {(date.fromisoformat(month), unit): rows for month, unit, rows in state["cohorts"]}
        sums.stopped = {(date.fromisoformat(month), unit): rows for month, unit, rows in state["stopped"]}
        return sums

    def figures(self, currency: str) -> DerivedFigures:
        cohorts = self._with_stopped_customers()
        derived = DerivedFigures(total=self.as_text())
        latest = len(self.calendar) - 1
        bridge_total: list[list[int]] = []
        for unit, rows in self.bridge.items():
            bridge_total.extend([0] * 10 for _ in range(len(rows) - len(bridge_total)))
            for before_as_of, sums in enumerate(rows):
                month = self.calendar[latest - before_as_of]
                derived.bridge[(month.first, unit)] = _bridge_row(month, sums, currency)
                _add_into(bridge_total[before_as_of], sums)
        for before_as_of, sums in enumerate(bridge_total):
            month = self.calendar[latest - before_as_of]
            derived.bridge_total[(month.first,)] = _bridge_row(month, sums, currency)
        cohort_total: dict[date, list[list[int]]] = {}
        for (cohort_month, unit), rows in cohorts.items():
            totals = cohort_total.setdefault(cohort_month, [[0] * 4 for _ in rows])
            months = self.calendar[len(self.calendar) - len(rows):]
            for month, sums, total in zip(months, rows, totals):
                derived.cohorts[(cohort_month, unit, month.first)] = _cohort_row(cohort_month, month, sums, currency)
                _add_into(total, sums)
        for cohort_month, rows in cohort_total.items():
            months = self.calendar[len(self.calendar) - len(rows):]
            for month, sums in zip(months, rows):
                derived.cohort_total[(cohort_month, month.first)] = _cohort_row(cohort_month, month, sums, currency)
        return derived


def _add_into(total: list[int], sums: list[int]) -> None:
    for slot, value in enumerate(sums):
        total[slot] += value


def _bridge_row(month: CalendarMonth, sums: list[int], currency: str) -> dict[str, object]:
    return {"currency": currency, "snapshot_date": month.snapshot, "starting_mrr": money(sums[_STARTING]),
            **{name: money(sums[slot]) for name, slot in _BRIDGE_SLOT.items()},
            "net_new_mrr": money(sums[_NET_NEW]), "ending_mrr": money(sums[_ENDING]),
            "recognized_revenue": money(sums[_REVENUE]), "active_customers": sums[_ACTIVE]}


def _cohort_row(cohort_month: date, month: CalendarMonth, sums: list[int], currency: str) -> dict[str, object]:
    return {"months_since_cohort": (month.first.year - cohort_month.year) * 12 + month.first.month
            - cohort_month.month,
            "currency": currency, "snapshot_date": month.snapshot,
            "cohort_customers": sums[_COHORT_CUSTOMERS], "active_customers": sums[_COHORT_ACTIVE],
            "cohort_starting_mrr": money(sums[_COHORT_STARTING]), "ending_mrr": money(sums[_COHORT_ENDING]),
            "mrr_retention_pct": percent(sums[_COHORT_ENDING], sums[_COHORT_STARTING]),
            "logo_retention_pct": percent(sums[_COHORT_ACTIVE], sums[_COHORT_CUSTOMERS])}


def customer_month_row(month: CustomerMonth, customer_id: str, unit: str, name: str | None, currency: str
                       ) -> CustomerMonthRow:
    return _month_row((month.month, customer_id, unit, name, currency, month.snapshot_date,
                       money(month.starting_mrr), month.movement, money(month.movement_amount),
                       money(month.ending_mrr), money(month.recognized_revenue)))


def has_figures(month: CustomerMonth) -> bool:
    """A customer-month adds to some sum (after a churn, months of nothing are not detail)."""
    return bool(month.starting_mrr or month.ending_mrr or month.recognized_revenue)


def customer_line_row(customer_id: str, interval: ServiceInterval) -> CustomerLineRow:
    product = interval.product
    return _line_row((interval.line_id, customer_id, interval.contract_id, product.product_id if product else None,
                      product.name if product else None, interval.currency, interval.rate, money(interval.mrr),
                      interval.start, interval.end, interval.mrr_end))


def customer_contract_row(contract: Contract, customer_id: str, renews: list[str], override: Override | None
                          ) -> CustomerContractRow:
    return _contract_row((contract.contract_id, customer_id, contract.account_id, contract.start, contract.end,
                          renews, override is not None, override.reason if override else None,
                          override.approver if override else None))


_first = itemgetter(0)


def customer_inputs_digest(basis: bytes, currency: str, customer_id: str, account: tuple | None,
                           intervals: list[ServiceInterval], contracts: list[tuple]) -> bytes:
    """SHA-256 of everything a customer's detail is derived from besides `basis` (the as-of date and this code):
    the reporting currency, its account, its service intervals (each line's MRR, periods, product, currency and
    rate, as derived; in line order) and its contracts with the contracts they renew and any override. Equal
    digests, equal detail: the derivation is a function of these. Pickled, so a null and an empty text differ;
    amounts as exact values, which is what check 4 compares; dates as day numbers (a pickled date costs seven
    times a pickled integer, and every customer is digested on every run)."""
    carried = sorted((i.line_id, i.mrr, i.start.toordinal(), i.end.toordinal(), i.mrr_end.toordinal(),
                      i.contract_id, _product_inputs(i.product), i.currency, _exact(i.rate)) for i in intervals)
    return hashlib.sha256(basis + pickle.dumps((currency, customer_id, account, carried, contracts),
                                               protocol=5)).digest()


def _exact(amount: Decimal | None) -> tuple[int, int] | None:
    """An amount as its exact value: which of two equal texts (1.1, 1.10) staging held first is no input."""
    return None if amount is None else amount.as_integer_ratio()


@lru_cache(maxsize=4096)
def _product_inputs(product: Product | None) -> tuple | None:
    return None if product is None else (*product[:2], _exact(product.term_months), *product[3:])


def contract_inputs(contract: Contract, renews: list[str], override: Override | None) -> tuple:
    """A contract as `customer_inputs_digest` takes it: every field (dates as day numbers), the contracts it
    renews, and its override."""
    return tuple(value.toordinal() if isinstance(value, date) else value for value in contract), renews, (
        override.contract_id, override.customer_account_id, override.reason, override.approver) if override else None


def _every_customer(customer_id: str, inputs_digest: bytes) -> bool:
    return True


def _unchanged(detail: CustomerDetail) -> CustomerDetail:
    return detail


def contribution_text(unit: str, months: Sequence[CustomerMonth]) -> str:
    """A customer's part of the bridge and cohort sums, as JSON: its business unit, its cohort month and its
    months' (ending MRR, revenue) in cents, as runs of equal months. Each month's starting MRR is the month
    before's ending, and its movement follows from the two (A5): `contribution_months` gives back the months
    `_Sums.add` reads."""
    runs: list[list[int]] = []
    for month in months:
        if runs and runs[-1][1] == month.ending_mrr and runs[-1][2] == month.recognized_revenue:
            runs[-1][0] += 1
        else:
            runs.append([1, month.ending_mrr, month.recognized_revenue])
    return json.dumps([unit, months[0].month.isoformat(), runs], separators=(",", ":"))


def contribution_months(text: str) -> tuple[str, list[CustomerMonth]]:
    """The business unit and the months of `contribution_text`, each with its starting MRR and movement as
    `customer_months` gives them (the month's and snapshot's dates are not kept: only the cohort's)."""
    unit, cohort, runs = json.loads(text, parse_float=Decimal)
    months, starting = [], 0
    for count, ending, revenue in runs:
        for _ in range(count):
            movement, amount = classify_movement(starting, ending, bool(months))
            months.append(_customer_month((None, None, starting, ending, movement, amount, revenue)))
            starting = ending
    months[0] = months[0]._replace(month=date.fromisoformat(cohort))
    return unit, months


@dataclass(frozen=True)
class ProvenSums:
    """The bridge and cohort sums of the customers whose detail has a proof under this basis, as a passing check
    4 derived them (`DerivedFigures.total`), and a way to read back each of those customers' own part of them
    (`contribution_text`). A customer whose inputs are those of its proof, and whose rows are therefore not
    wanted, is then left in the total instead of being summed again; every other customer of the total is taken
    out by its part and, if it is still a customer, summed afresh."""

    total: str
    customers: frozenset[str]
    contributions: Callable[[list[str]], Iterable[str]]


# A customer's share of the work follows its lines. A copy of the process is forked only when each process gets
# at least this many carried lines: below that, forking and handing the result back cost more than they save.
LINES_PER_PROCESS = 50_000


def derive_figures(org: StagedOrg, as_of: date, renewal_grace_limit: int, overrides: Sequence[Override] = (),
                   each_customer: Callable[[Any], None] = lambda detail: None,
                   rows_wanted: Callable[[str, bytes], bool] = _every_customer, basis: bytes = b"",
                   summarise: Callable[[CustomerDetail], Any] = _unchanged,
                   before_customers: Callable[[], object] = lambda: None, processes: int = 1,
                   proven: ProvenSums | None = None) -> DerivedFigures:
    """Every published figure as of `as_of`: the bridge per business unit and in total and cohort retention,
    returned; and the detail behind them (each customer's months, lines and contracts), one customer at a time,
    in the order of their ids (code points, as PostgreSQL's "C").

    Every customer is derived and summed, unless `proven` holds it and its rows are not wanted: its sums are
    then those in `proven.total`. Its detail rows are made only if `rows_wanted(customer, its inputs digest)`;
    the digest (`customer_inputs_digest` after `basis`) is in the detail either way. `summarise(detail)`
    runs where the customer was derived, and `each_customer` is handed what it returns, in this process, in
    customer order. `before_customers()` runs once the org is grouped by customer, before the first is derived.

    With `processes` above 1 and an org large enough (`LINES_PER_PROCESS`), the customers are split into that
    many runs of consecutive ids with about as many lines each: the first is derived here, each other in a forked
    copy of this process, at the same time. `rows_wanted` and `summarise` then run in whichever process derives
    the customer: what they read must be ready when `before_customers` returns, what they change in a copy stays
    there, and they must not log or use a connection (`forked`). The figures are the same however the customers
    are split: they are integer sums. A daemonic process, which multiprocessing allows no children, derives every
    customer itself."""
    with collector_paused():
        derivation = _CustomerDerivation(org, as_of, renewal_grace_limit, overrides, rows_wanted, basis,
                                         proven.customers if proven else frozenset())
        before_customers()
        parts = customer_parts(derivation.carried.by_customer, processes if can_fork() else 1)
        with ExitStack() as copies:
            later = [copies.enter_context(forked(partial(_derived_part, derivation, part, summarise),
                                                 f"the derivation's part {number} of {len(parts)}"))
                     for number, part in enumerate(parts[1:], 2)]
            sums = derivation.sums(parts[0], summarise, each_customer)
            for part in later:
                part_sums, summaries = part()
                sums.merge(part_sums)
                for summary in summaries:
                    each_customer(summary)
        if proven:
            sums.merge(_Sums.from_text(proven.total, as_of))
            for text in proven.contributions(sorted(proven.customers.difference(sums.kept))):
                sums.remove(*contribution_months(text))
            sums.trim()
        return sums.figures(derivation.currency)


def customer_parts(lines_of: dict[str, list[Line]], processes: int) -> list[list[str]]:
    """The customers in id order, as runs of consecutive ids with about as many lines each: one run per process,
    for at most `processes` processes and as many as there are `LINES_PER_PROCESS` lines for, at least one. A
    customer goes where the middle of its lines falls; a run left empty is no process."""
    total = sum(map(len, lines_of.values()))
    count = max(1, min(processes, total // LINES_PER_PROCESS))
    parts: list[list[str]] = [[] for _ in range(count)]
    lines_before = 0
    for customer_id in sorted(lines_of):
        lines = len(lines_of[customer_id])
        parts[(2 * lines_before + lines) * count // (2 * total)].append(customer_id)
        lines_before += lines
    return [part for part in parts if part] or [[]]


def _derived_part(derivation: _CustomerDerivation, customer_ids: list[str], summarise: Callable[[CustomerDetail], Any]
                  ) -> tuple[_Sums, list]:
    summaries: list = []
    return derivation.sums(customer_ids, summarise, summaries.append), summaries


class _CustomerDerivation:
    """The org grouped by customer (its carried lines, its contracts and what renews what), and the derivation of
    one customer after another from it."""

    def __init__(self, org: StagedOrg, as_of: date, renewal_grace_limit: int, overrides: Sequence[Override],
                 rows_wanted: Callable[[str, bytes], bool], basis: bytes, proven: frozenset[str]) -> None:
        self.org, self.as_of, self.rows_wanted, self.basis, self.proven = org, as_of, rows_wanted, basis, proven
        self.currency = reporting_currency(org)
        self.override_of = {o.contract_id: o for o in overrides}
        links = renewal_links(org.contracts, org.renewed_contract_of_opportunity)
        customers = contract_customers(org.contracts, links,
                                       {c: o.customer_account_id for c, o in self.override_of.items()})
        self.contracts_of = _contracts_by_customer(links, customers)
        self.rates = check_rates(org.rates)
        self.carried = carried_lines(org, renewal_grace_limit, links, customers)

    def sums(self, customer_ids: list[str], summarise: Callable[[CustomerDetail], Any],
             hand_over: Callable[[Any], None]) -> _Sums:
        """The bridge and cohort sums of `customer_ids`; each one's detail summarised and handed over, in order."""
        org, override_of, currency = self.org, self.override_of, self.currency
        sums = _Sums(self.as_of)
        for customer_id in customer_ids:
            intervals = customer_intervals(self.carried.by_customer.pop(customer_id), org, currency, self.rates,
                                           self.carried.grace)
            contracts = self.contracts_of.pop(customer_id, {})
            inputs_digest = b""
            if customer_id in self.proven:
                inputs_digest = self._inputs_digest(customer_id, intervals, contracts)
                if not self.rows_wanted(customer_id, inputs_digest):
                    # The inputs its proof's comparison derived from: its sums are those in the proven total.
                    sums.kept.append(customer_id)
                    hand_over(summarise(CustomerDetail(customer_id, inputs_digest, False)))
                    continue
            months = customer_months(intervals, self.as_of, customer_id)
            if not months:
                continue
            if customer_id not in org.accounts:
                raise DerivationError(f"contract_without_account: customer account {customer_id}")
            name, unit = org.accounts[customer_id][0], (org.accounts[customer_id][1] or "").strip() or UNASSIGNED
            inputs_digest = inputs_digest or self._inputs_digest(customer_id, intervals, contracts)
            detail = CustomerDetail(customer_id, inputs_digest, self.rows_wanted(customer_id, inputs_digest))
            if detail.derived:
                detail.contracts = [customer_contract_row(org.contracts[contract_id], customer_id,
                                                          contracts[contract_id], override_of.get(contract_id))
                                    for contract_id in sorted(contracts)]
                detail.lines = sorted((customer_line_row(customer_id, interval) for interval in intervals),
                                      key=_first)
                detail.months = [customer_month_row(month, customer_id, unit, name, currency)
                                 for month in months if has_figures(month)]
                detail.contribution = contribution_text(unit, months)
            sums.add(unit, months)
            hand_over(summarise(detail))
        return sums

    def _inputs_digest(self, customer_id: str, intervals: list[ServiceInterval], contracts: dict[str, list[str]]
                       ) -> bytes:
        org, override_of = self.org, self.override_of
        return customer_inputs_digest(self.basis, self.currency, customer_id, org.accounts.get(customer_id),
                                      intervals, [contract_inputs(org.contracts[contract_id], renews,
                                                                  override_of.get(contract_id))
                                                  for contract_id, renews in contracts.items()])


def _contracts_by_customer(links: set[tuple[str, str]], customers: dict[str, str]
                           ) -> dict[str, dict[str, list[str]]]:
    """Each customer's contracts, each with the contracts it renews (their rows are made customer by customer)."""
    renews: dict[str, list[str]] = defaultdict(list)
    for predecessor, successor in links:
        renews[successor].append(predecessor)
    by_customer: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for contract_id, customer_id in customers.items():
        by_customer[customer_id][contract_id] = sorted(renews.get(contract_id, ()))
    return by_customer
