"""The independent derivation (METHODOLOGY.md Part C, check 4): Part A a second time.

A separate implementation in Python that reads `staging` directly and shares
no code with the SQL mart. Quotients are exact fractions and every rounding is
half to even, where the methodology says and nowhere else. It derives every
figure that is published: the bridge per business unit and in total (net new
MRR and the reporting currency included), cohort retention with its
percentages, and the detail behind them: each customer-month, each line that
carries a customer's MRR and each contract of a customer's chain. If it agrees
with the mart to the cent on all of them, two independent readings of the rules
gave the same numbers.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

import psycopg

from revcert.sqlfiles import load_sql

ZERO = Decimal("0.00")
UNASSIGNED = "UNASSIGNED"


class DerivationError(RuntimeError):
    """The derivation met records the rules cannot handle; names the rule and the records."""


# -- what staging holds ----------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
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


@dataclass(frozen=True)
class Contract:
    contract_id: str
    account_id: str | None
    opportunity_id: str | None
    renewal_opportunity_id: str | None
    start: date | None
    end: date | None


@dataclass(frozen=True)
class Product:
    product_id: str
    charge_type: str | None
    term_months: Decimal | None
    name: str | None = None


@dataclass(frozen=True)
class Rate:
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
    lines: list[Line]
    contracts: dict[str, Contract]
    renewed_contract_of_opportunity: dict[str, str]
    products: dict[str, Product]
    rates: dict[str, list[Rate]]
    accounts: dict[str, tuple[str | None, str | None]]  # id -> (name, business unit)
    corporate_currencies: list[str]


def read_staging(conn: psycopg.Connection) -> StagedOrg:
    """Every live record the methodology uses, straight from the staging tables (sql/certification/staged_*)."""
    def rows(name: str) -> list[tuple]:
        return conn.execute(load_sql("certification", name)).fetchall()

    rates: dict[str, list[Rate]] = defaultdict(list)
    for row in rows("staged_rates"):
        rates[row[0]].append(Rate(*row))
    return StagedOrg(
        lines=[Line(*row) for row in rows("staged_lines")],
        contracts={row[0]: Contract(*row) for row in rows("staged_contracts")},
        renewed_contract_of_opportunity=dict(rows("staged_renewals")),
        products={row[0]: Product(*row) for row in rows("staged_products")},
        rates=dict(rates),
        accounts={row[0]: (row[1], row[2]) for row in rows("staged_accounts")},
        corporate_currencies=[row[0] for row in rows("staged_corporate_currencies")],
    )


# -- the rules, as small pure functions ----------------------------------------------------

def round_to_cents(value: Fraction) -> Decimal:
    """Round an exact quantity half to even, to 0.01 (Fraction rounds half to even)."""
    cents = round(value * 100)
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def line_mrr(net_price: Decimal, quantity: Decimal, prorate_multiplier: Decimal, term_months: Decimal,
             rate: Decimal) -> Decimal:
    """round(NetPrice x Quantity / (P x T) / R, 2), from the exact quotient."""
    quotient = Fraction(net_price) * Fraction(quantity) / (Fraction(prorate_multiplier) * Fraction(term_months))
    return round_to_cents(quotient / Fraction(rate))


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
    for rate in rates:
        if rate.start <= day and (rate.next_start is None or day < rate.next_start):
            return rate.rate
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


def classify_movement(starting: Decimal, ending: Decimal, had_mrr_before: bool) -> tuple[str, Decimal]:
    """METHODOLOGY.md A5."""
    if starting == 0 and ending > 0:
        return ("winback", ending) if had_mrr_before else ("new", ending)
    if starting > 0 and ending == 0:
        return "churn", -starting
    if starting > 0 and ending > starting:
        return "expansion", ending - starting
    if starting > 0 and 0 < ending < starting:
        return "contraction", ending - starting
    return "none", ZERO


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def month_end(month: date) -> date:
    return next_month(month) - timedelta(days=1)


def months_between(first: date, last: date) -> Iterable[date]:
    month = month_start(first)
    while month <= last:
        yield month
        month = next_month(month)


# -- customer daily MRR as steps -----------------------------------------------------------

@dataclass
class ServiceInterval:
    line_id: str
    mrr: Decimal
    start: date
    end: date
    mrr_end: date
    contract_id: str = ""
    product: Product | None = None
    currency: str | None = None
    rate: Decimal = Decimal(1)


@dataclass
class DailyMrr:
    """D(c, d) of one customer: its value from each change day until the next."""

    days: list[date] = field(default_factory=list)
    values: list[Decimal] = field(default_factory=list)

    @classmethod
    def of(cls, intervals: list[ServiceInterval]) -> DailyMrr:
        changes: dict[date, Decimal] = defaultdict(Decimal)
        for interval in intervals:
            changes[interval.start] += interval.mrr
            # A line running to the last representable day (9999-12-31, "no end") never stops.
            if interval.mrr_end < date.max:
                changes[interval.mrr_end + timedelta(days=1)] -= interval.mrr
        steps, running = cls(), Decimal(0)
        for day in sorted(changes):
            running += changes[day]
            steps.days.append(day)
            steps.values.append(running)
        return steps

    def on(self, day: date) -> Decimal:
        index = bisect.bisect_right(self.days, day) - 1
        return self.values[index] if index >= 0 else ZERO

    def first_positive_day(self) -> date | None:
        return next((d for d, v in zip(self.days, self.values) if v > 0), None)

    def first_negative_day(self) -> date | None:
        return next((d for d, v in zip(self.days, self.values) if v < 0), None)


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


def service_intervals(org: StagedOrg, renewal_grace_limit: int, links: set[tuple[str, str]],
                      customers: dict[str, str]) -> dict[str, list[ServiceInterval]]:
    """The recurring lines that carry MRR, grouped by customer, with renewal grace applied."""
    currency = reporting_currency(org)
    for iso_code, rates in org.rates.items():
        if overlaps := overlapping_rates(rates):
            earlier, later = overlaps[0]
            raise DerivationError(f"overlapping_conversion_rates: {iso_code} from {later.start} overlaps the rate "
                                  f"from {earlier.start} ({len(overlaps)} overlap(s))")
    by_contract: dict[str, list[ServiceInterval]] = defaultdict(list)
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
        rate = Decimal(1) if line.currency == currency else rate_at(org.rates.get(line.currency, []), start)
        if rate is None or rate <= 0:
            raise DerivationError(f"missing_conversion_rate: line {line.line_id} ({line.currency} at {start})")
        if line.net_price is None or line.quantity is None:
            raise DerivationError(f"missing_price_or_quantity: line {line.line_id}")
        prorate = line.prorate_multiplier if line.prorate_multiplier is not None else Decimal(1)
        term = product.term_months if product.term_months is not None else Decimal(12)
        if prorate <= 0 or term <= 0:
            raise DerivationError(f"bad_prorate_multiplier or bad_subscription_term: line {line.line_id}")
        mrr = line_mrr(line.net_price, line.quantity, prorate, term, rate)
        by_contract[contract.contract_id].append(ServiceInterval(line.line_id, mrr, start, end, end,
                                                                 contract.contract_id, product, line.currency, rate))

    windows = {c: (min(i.start for i in lines), max(i.end for i in lines)) for c, lines in by_contract.items()}
    successors: dict[str, list[str]] = defaultdict(list)
    for predecessor, successor in links:
        if successor in windows:
            successors[predecessor].append(successor)
    for contract_id, lines in by_contract.items():
        if not successors.get(contract_id):
            continue
        earliest = min(successors[contract_id], key=lambda c: (windows[c][0], c))
        contract_end = windows[contract_id][1]
        extra = grace_days((windows[earliest][0] - contract_end).days - 1, renewal_grace_limit)
        for interval in lines:
            if interval.end == contract_end:
                interval.mrr_end = interval.end + timedelta(days=extra)

    by_customer: dict[str, list[ServiceInterval]] = defaultdict(list)
    for contract_id, lines in by_contract.items():
        by_customer[customers[contract_id]].extend(lines)
    return by_customer


def recognized_revenue_by_month(intervals: list[ServiceInterval], as_of: date) -> dict[date, Decimal]:
    """Customer revenue per month: round(sum of MRR x real active days / days in month), to the as-of date."""
    mrr_days: dict[date, Decimal] = defaultdict(Decimal)
    for interval in intervals:
        last = min(interval.end, as_of)
        if last < interval.start:
            continue
        for month in months_between(interval.start, last):
            days = (min(last, month_end(month)) - max(interval.start, month)).days + 1
            mrr_days[month] += interval.mrr * days
    return {month: round_to_cents(Fraction(total) / month_end(month).day) for month, total in mrr_days.items()}


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole as a percentage, rounded half to even to 0.1; None when there is no whole."""
    if whole == 0:
        return None
    value = Fraction(part) * 100 / Fraction(whole)
    return (Decimal(round(value * 10)) / 10).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class CustomerMonth:
    """One customer in one month: its snapshot, its movement and its revenue."""

    month: date
    snapshot_date: date
    starting_mrr: Decimal
    ending_mrr: Decimal
    movement: str
    movement_amount: Decimal
    recognized_revenue: Decimal


def customer_months(intervals: list[ServiceInterval], as_of: date, customer_id: str) -> list[CustomerMonth]:
    """Every month of a customer from its cohort through the as-of month (A4-A6); empty if not yet a customer."""
    daily = DailyMrr.of(intervals)
    negative = daily.first_negative_day()
    if negative:
        raise DerivationError(f"negative_customer_mrr: customer {customer_id} on {negative}")
    first_day = daily.first_positive_day()
    if first_day is None or first_day > as_of:
        return []
    revenue = recognized_revenue_by_month(intervals, as_of)
    months, starting = [], ZERO
    for month in months_between(first_day, as_of):
        snapshot_day = min(month_end(month), as_of)
        ending = daily.on(snapshot_day)
        movement, amount = classify_movement(starting, ending, had_mrr_before=first_day < month)
        months.append(CustomerMonth(month, snapshot_day, starting, ending, movement, amount,
                                    revenue.get(month, ZERO)))
        starting = ending
    return months


@dataclass
class CustomerDetail:
    """One customer's published detail, keyed like the mart tables it is compared with."""

    customer_id: str
    months: dict[tuple, dict[str, object]] = field(default_factory=dict)
    lines: dict[tuple, dict[str, object]] = field(default_factory=dict)
    contracts: dict[tuple, dict[str, object]] = field(default_factory=dict)

    def by_mart_table(self) -> dict[str, dict[tuple, dict[str, object]]]:
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

    def by_mart_table(self) -> dict[str, dict[tuple, dict[str, object]]]:
        return {"mart_mrr_bridge": self.bridge, "mart_mrr_bridge_total": self.bridge_total,
                "mart_cohort_retention": self.cohorts, "mart_cohort_retention_total": self.cohort_total}


def _add_bridge(row: dict[str, object], currency: str, month: CustomerMonth) -> None:
    row.setdefault("currency", currency)
    row["snapshot_date"] = month.snapshot_date
    for name in ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "net_new_mrr",
                 "ending_mrr", "recognized_revenue"):
        row.setdefault(name, ZERO)
    row.setdefault("active_customers", 0)
    row["starting_mrr"] += month.starting_mrr
    row["ending_mrr"] += month.ending_mrr
    if month.movement != "none":
        row[month.movement] += month.movement_amount
        row["net_new_mrr"] += month.movement_amount
    row["recognized_revenue"] += month.recognized_revenue
    row["active_customers"] += 1 if month.ending_mrr > 0 else 0


def _add_cohort(row: dict[str, object], currency: str, cohort_start: CustomerMonth, month: CustomerMonth) -> None:
    row.setdefault("months_since_cohort", (month.month.year - cohort_start.month.year) * 12
                   + month.month.month - cohort_start.month.month)
    row.setdefault("currency", currency)
    row["snapshot_date"] = month.snapshot_date
    row["cohort_customers"] = row.get("cohort_customers", 0) + 1
    row["active_customers"] = row.get("active_customers", 0) + (1 if month.ending_mrr > 0 else 0)
    row["cohort_starting_mrr"] = row.get("cohort_starting_mrr", ZERO) + cohort_start.ending_mrr
    row["ending_mrr"] = row.get("ending_mrr", ZERO) + month.ending_mrr


def _retention(rows: dict[tuple, dict[str, object]]) -> None:
    for row in rows.values():
        row["mrr_retention_pct"] = percent(row["ending_mrr"], row["cohort_starting_mrr"])
        row["logo_retention_pct"] = percent(row["active_customers"], row["cohort_customers"])


def customer_month_row(month: CustomerMonth, unit: str, name: str | None, currency: str) -> dict[str, object]:
    return {"business_unit": unit, "customer_name": name, "currency": currency, "snapshot_date": month.snapshot_date,
            "starting_mrr": month.starting_mrr, "movement_type": month.movement,
            "movement_amount": month.movement_amount, "ending_mrr": month.ending_mrr,
            "recognized_revenue": month.recognized_revenue}


def has_figures(month: CustomerMonth) -> bool:
    """A customer-month adds to some sum (after a churn, months of nothing are not detail)."""
    return bool(month.starting_mrr or month.ending_mrr or month.recognized_revenue)


def customer_line_row(customer_id: str, interval: ServiceInterval) -> dict[str, object]:
    product = interval.product
    return {"customer_id": customer_id, "contract_id": interval.contract_id,
            "product_id": product.product_id if product else None, "product_name": product.name if product else None,
            "currency_iso_code": interval.currency, "conversion_rate": interval.rate, "line_mrr": interval.mrr,
            "service_start_date": interval.start, "service_end_date": interval.end, "mrr_end_date": interval.mrr_end}


def customer_contract_row(contract: Contract, customer_id: str, renews: list[str],
                          override: Override | None) -> dict[str, object]:
    return {"customer_id": customer_id, "account_id": contract.account_id, "start_date": contract.start,
            "end_date": contract.end, "renews_contract_ids": renews, "is_overridden": override is not None,
            "override_reason": override.reason if override else None,
            "override_approver": override.approver if override else None}


def derive_figures(org: StagedOrg, as_of: date, renewal_grace_limit: int, overrides: Sequence[Override] = (),
                   each_customer: Callable[[CustomerDetail], None] = lambda detail: None) -> DerivedFigures:
    """Every published figure as of `as_of`: the bridge per business unit and in total and cohort retention,
    returned; and the detail behind them (each customer's months, lines and contracts), handed to
    `each_customer` one customer at a time, in the order of their ids (code points, as PostgreSQL's "C")."""
    currency = reporting_currency(org)
    override_of = {o.contract_id: o for o in overrides}
    links = renewal_links(org.contracts, org.renewed_contract_of_opportunity)
    customers = contract_customers(org.contracts, links, {c: o.customer_account_id for c, o in override_of.items()})
    contracts_of = _contracts_by_customer(org, links, customers, override_of)
    figures = DerivedFigures()
    by_customer = service_intervals(org, renewal_grace_limit, links, customers)
    for customer_id in sorted(by_customer):
        intervals = by_customer[customer_id]
        months = customer_months(intervals, as_of, customer_id)
        if not months:
            continue
        if customer_id not in org.accounts:
            raise DerivationError(f"contract_without_account: customer account {customer_id}")
        name, unit = org.accounts[customer_id][0], (org.accounts[customer_id][1] or "").strip() or UNASSIGNED
        detail = CustomerDetail(customer_id, contracts=contracts_of.get(customer_id, {}))
        for interval in intervals:
            detail.lines[(interval.line_id,)] = customer_line_row(customer_id, interval)
        cohort_start = months[0]
        for month in months:
            if has_figures(month):
                detail.months[(month.month, customer_id)] = customer_month_row(month, unit, name, currency)
            _add_bridge(figures.bridge.setdefault((month.month, unit), {}), currency, month)
            _add_bridge(figures.bridge_total.setdefault((month.month,), {}), currency, month)
            _add_cohort(figures.cohorts.setdefault((cohort_start.month, unit, month.month), {}), currency,
                        cohort_start, month)
            _add_cohort(figures.cohort_total.setdefault((cohort_start.month, month.month), {}), currency,
                        cohort_start, month)
        each_customer(detail)
    _retention(figures.cohorts)
    _retention(figures.cohort_total)
    return figures


def _contracts_by_customer(org: StagedOrg, links: set[tuple[str, str]], customers: dict[str, str],
                           override_of: dict[str, Override]) -> dict[str, dict[tuple, dict[str, object]]]:
    """Each customer's contracts, each with the contracts it renews."""
    renews: dict[str, list[str]] = defaultdict(list)
    for predecessor, successor in links:
        renews[successor].append(predecessor)
    by_customer: dict[str, dict[tuple, dict[str, object]]] = defaultdict(dict)
    for contract_id, customer_id in customers.items():
        by_customer[customer_id][(contract_id,)] = customer_contract_row(
            org.contracts[contract_id], customer_id, sorted(renews[contract_id]), override_of.get(contract_id))
    return by_customer
