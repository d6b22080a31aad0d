"""A seeded generator of realistic Salesforce CPQ orgs.

Every rule of METHODOLOGY.md Part A occurs in a generated org of the default
size: mid-month upgrades, negative-quantity amendments, terminations, same-day
renewals at higher and lower prices, late renewals inside and outside the
renewal grace, renewals booked on another account, several currencies whose
dated rates change every quarter, one-time and usage charges, deleted records,
several business units (and accounts with none), leap days.

Accounts are generated one at a time and written straight to disk, so memory
stays flat whatever the size (a million lines is a matter of patience).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from revcert.snapshots.salesforce_snapshot import Record, SnapshotWriter

API_VERSION = "62.0"
CENT = Decimal("0.01")
REPORTING_CURRENCY = "USD"

# Currency -> rate to one USD at the start of 2021; it then walks quarter by quarter.
CURRENCIES = {"USD": Decimal("1"), "EUR": Decimal("0.82"), "GBP": Decimal("0.73"), "JPY": Decimal("104.5"),
              "CAD": Decimal("1.27")}
BUSINESS_UNITS = [("NA", ("USD", "USD", "CAD"), 40), ("EMEA", ("EUR", "GBP"), 30), ("APAC", ("JPY", "USD"), 20),
                  ("LATAM", ("USD",), 8), (None, ("USD",), 2)]
RATE_PERIODS = (date(2021, 1, 1), date(2031, 1, 1))

ID_PREFIX = {"Account": "001", "Contract": "800", "Opportunity": "006", "Product2": "01t",
             "SBQQ__Subscription__c": "a1B", "DatedConversionRate": "04w", "CurrencyType": "02T"}


@dataclass(frozen=True)
class Product:
    name: str
    family: str
    annual_price: Decimal
    term_months: int | None = 12
    charge_type: str | None = "Recurring"


PRODUCTS = [
    Product("Platform Core", "Platform", Decimal("12000.00")),
    Product("Platform Enterprise", "Platform", Decimal("36000.00")),
    Product("User Seats", "Seats", Decimal("600.00")),
    Product("Analytics Add-on", "Analytics", Decimal("4800.00"), term_months=None),
    Product("Premium Support", "Support", Decimal("2400.00"), charge_type=None),
    Product("Data Residency (monthly)", "Compliance", Decimal("150.00"), term_months=1),
    Product("Platform Core 3-year", "Platform", Decimal("33000.00"), term_months=36),
    Product("Onboarding", "Services", Decimal("5000.00"), term_months=None, charge_type="One-Time"),
    Product("API Overage", "Usage", Decimal("0.05"), term_months=None, charge_type="Usage"),
]
RECURRING = [p for p in PRODUCTS if p.charge_type in ("Recurring", None)]


@dataclass(frozen=True)
class OrgShape:
    """What to generate.

    Attributes:
        accounts: Customers to create (renewals on other accounts add a few more).
        lines: If set, keep adding customers until at least this many subscription lines exist.
        seed: The same seed and shape give the same org, byte for byte.
        first_start: Earliest first contract.
        last_new_business: Latest first contract.
        horizon: No contract starts after this day.
        extracted_at: Every SystemModstamp is before this instant.
    """

    accounts: int = 2000
    lines: int | None = None
    seed: int = 20260101
    first_start: date = date(2022, 1, 1)
    last_new_business: date = date(2026, 10, 31)
    horizon: date = date(2026, 12, 31)
    extracted_at: datetime = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)


def salesforce_id(object_name: str, number: int) -> str:
    """An 18-character Salesforce Id with its real case-safe checksum."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = alphabet[remainder] + digits
    body = f"{ID_PREFIX[object_name]}Rc{digits.rjust(10, '0')}"
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(body[start:start + 5]) if char.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return body + suffix


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _modstamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class _Line:
    product: Product
    quantity: Decimal
    unit_annual_price: Decimal
    start: date
    end: date
    prorate: Decimal | None
    record_id: str
    revised_id: str | None = None
    terminated: date | None = None


@dataclass
class _Contract:
    account_id: str
    start: date
    months: int
    opportunity_id: str
    currency: str
    record_id: str = ""
    renewal_opportunity_id: str | None = None
    renewed_contract: _Contract | None = None
    amendments: list[tuple[str, date]] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)

    @property
    def end(self) -> date:
        return self.start + relativedelta(months=self.months) - timedelta(days=1)


class OrgGenerator:
    """Writes one org into a snapshot directory. Use `generate_org` for the one-call form."""

    def __init__(self, shape: OrgShape, writer: SnapshotWriter) -> None:
        self.shape = shape
        self.random = random.Random(shape.seed)
        self.writer = writer
        self.counters: dict[str, int] = {}
        self.lines_written = 0
        self.product_ids: dict[str, str] = {}

    # -- ids, stamps, records ----------------------------------------------------------------

    def new_id(self, object_name: str) -> str:
        self.counters[object_name] = self.counters.get(object_name, 0) + 1
        return salesforce_id(object_name, self.counters[object_name] * 7919 + 104729)

    def stamp(self, around: date) -> str:
        """A SystemModstamp a few days before `around`, never at or after extraction."""
        moment = datetime.combine(around, time(9), tzinfo=timezone.utc) - timedelta(
            days=self.random.randint(1, 20), seconds=self.random.randint(0, 36000),
            milliseconds=self.random.randint(0, 999))
        latest = self.shape.extracted_at - timedelta(seconds=self.random.randint(60, 86400 * 20))
        return _modstamp(min(moment, latest))

    def emit(self, object_name: str, record_id: str, fields: dict[str, Any], around: date,
             deleted: bool = False) -> None:
        record: Record = {"attributes": {"type": object_name,
                                         "url": f"/services/data/v{API_VERSION}/sobjects/{object_name}/{record_id}"},
                          "Id": record_id, **fields}
        if object_name not in ("DatedConversionRate", "CurrencyType"):
            record["IsDeleted"] = deleted
        record["SystemModstamp"] = self.stamp(around)
        self.writer.write(object_name, record)

    # -- reference data -------------------------------------------------------------------

    def write_currencies(self) -> None:
        day, last = RATE_PERIODS
        rates = dict(CURRENCIES)
        while day < last:
            following = day + relativedelta(months=3)
            for code in CURRENCIES:
                if code == REPORTING_CURRENCY:
                    continue
                drift = Decimal(self.random.randint(-40, 40)) / Decimal(1000)
                rates[code] = (rates[code] * (1 + drift)).quantize(Decimal("0.000001"))
                self.emit("DatedConversionRate", self.new_id("DatedConversionRate"),
                          {"IsoCode": code, "ConversionRate": rates[code], "StartDate": day.isoformat(),
                           "NextStartDate": following.isoformat()}, day)
            day = following
        self.emit("DatedConversionRate", self.new_id("DatedConversionRate"),
                  {"IsoCode": REPORTING_CURRENCY, "ConversionRate": Decimal("1.000000"), "StartDate": "0001-01-01",
                   "NextStartDate": "9999-12-31"}, RATE_PERIODS[0])
        for code, rate in CURRENCIES.items():
            self.emit("CurrencyType", self.new_id("CurrencyType"),
                      {"IsoCode": code, "ConversionRate": rates[code] if code != REPORTING_CURRENCY else rate,
                       "IsCorporate": code == REPORTING_CURRENCY}, RATE_PERIODS[0])

    def write_products(self) -> None:
        for product in PRODUCTS:
            product_id = self.new_id("Product2")
            self.product_ids[product.name] = product_id
            self.emit("Product2", product_id,
                      {"Name": product.name, "Family": product.family,
                       "SBQQ__SubscriptionTerm__c": Decimal(product.term_months) if product.term_months else None,
                       "SBQQ__ChargeType__c": product.charge_type}, self.shape.first_start)
        retired = self.new_id("Product2")
        self.emit("Product2", retired, {"Name": "Legacy Bundle (retired)", "Family": "Platform",
                                        "SBQQ__SubscriptionTerm__c": Decimal(12), "SBQQ__ChargeType__c": "Recurring"},
                  self.shape.first_start, deleted=True)

    # -- customers --------------------------------------------------------------------------

    def business_unit(self) -> tuple[str | None, str]:
        unit, currencies, _ = self.random.choices(BUSINESS_UNITS, weights=[w for *_, w in BUSINESS_UNITS])[0]
        return unit, self.random.choice(currencies)

    def write_account(self, name: str, unit: str | None, currency: str, parent_id: str | None,
                      around: date, deleted: bool = False) -> str:
        account_id = self.new_id("Account")
        self.emit("Account", account_id, {"Name": name, "ParentId": parent_id, "CurrencyIsoCode": currency,
                                          "Business_Unit__c": unit}, around, deleted)
        return account_id

    def first_start(self, index: int) -> date:
        if index % 97 == 13:
            return date(2024, 2, 29)
        span = (self.shape.last_new_business - self.shape.first_start).days
        return self.shape.first_start + timedelta(days=self.random.randint(0, span))

    def customer(self, index: int) -> None:
        unit, currency = self.business_unit()
        name = f"Customer {index:06d}"
        start = self.first_start(index)
        parent_id = None
        if index % 25 == 0:
            parent_id = self.write_account(f"{name} Holdings", unit, currency, None, start)
        account_id = self.write_account(name, unit, currency, parent_id, start)
        if index % 101 == 7:
            self.write_account(f"{name} (duplicate)", unit, currency, parent_id, start, deleted=True)
        if index % 53 == 5:
            self.emit("Opportunity", self.new_id("Opportunity"), {
                "AccountId": account_id, "SBQQ__RenewedContract__c": None, "SBQQ__AmendedContract__c": None},
                start, deleted=True)

        contract = self.new_business(account_id, currency, start)
        while contract is not None:
            contract = self.live_through(contract, name, unit, parent_id)

    def new_business(self, account_id: str, currency: str, start: date) -> _Contract:
        opportunity_id = self.new_id("Opportunity")
        months = self.random.choices([12, 24, 36], weights=[80, 12, 8])[0]
        contract = _Contract(account_id, start, months, opportunity_id, currency)
        choices = self.random.sample(RECURRING, k=self.random.randint(1, 3))
        for product in choices:
            quantity = Decimal(self.random.randint(1, 40)) if product.family == "Seats" else Decimal(
                self.random.choice([1, 1, 1, 2, 3]))
            self.add_line(contract, product, quantity, self.unit_price(product, currency), start, contract.end)
        if self.random.random() < 0.3:
            onboarding = next(p for p in PRODUCTS if p.charge_type == "One-Time")
            contract.lines.append(_Line(onboarding, Decimal(1), self.unit_price(onboarding, currency), start, start,
                                        None, self.new_id("SBQQ__Subscription__c")))
        if self.random.random() < 0.1:
            usage = next(p for p in PRODUCTS if p.charge_type == "Usage")
            contract.lines.append(_Line(usage, Decimal(self.random.randint(1000, 90000)),
                                        self.unit_price(usage, currency), start, contract.end, None,
                                        self.new_id("SBQQ__Subscription__c")))
        return contract

    def unit_price(self, product: Product, currency: str) -> Decimal:
        discount = Decimal(self.random.choice([0, 0, 5, 10, 15, 20])) / 100
        return _money(product.annual_price * CURRENCIES[currency] * (1 - discount))

    def add_line(self, contract: _Contract, product: Product, quantity: Decimal, unit_price: Decimal,
                 start: date, end: date, revised_id: str | None = None) -> _Line:
        term = product.term_months or 12
        full_term_days = (start + relativedelta(months=term) - start).days
        days = (end - start).days + 1
        if days == full_term_days:
            prorate = self.random.choice([None, Decimal("1")])
        else:
            # CPQ's day-based proration: the line's days over the term's days, to 16 places.
            prorate = (Decimal(days) / Decimal(full_term_days)).quantize(Decimal("1E-16"))
        line = _Line(product, quantity, unit_price, start, end, prorate, self.new_id("SBQQ__Subscription__c"),
                     revised_id=revised_id)
        contract.lines.append(line)
        return line

    def amendment_days(self, contract: _Contract) -> list[date]:
        """Zero to two amendment days inside the contract, in order."""
        length = (contract.end - contract.start).days
        if length < 90:
            return []
        count = self.random.choice([0, 0, 1, 1, 2])
        return sorted(contract.start + timedelta(days=self.random.randint(30, length - 30)) for _ in range(count))

    def amend(self, contract: _Contract, day: date) -> None:
        """A mid-contract upsell or reduction on `day`, priced for the rest of the term."""
        contract.amendments.append((self.new_id("Opportunity"), day))
        remaining = {line.record_id: line.quantity for line in contract.lines
                     if line.product in RECURRING and line.quantity > 0 and line.start <= day}
        for line in contract.lines:
            if line.revised_id in remaining:
                remaining[line.revised_id] += line.quantity
        reducible = [line for line in contract.lines if remaining.get(line.record_id, 0) > 1]
        if reducible and self.random.random() < 0.35:
            # A reduction revises one line at that line's price and takes at most half of it: its
            # own dated rate may differ from the line's, and the customer's MRR must stay positive.
            line = self.random.choice(reducible)
            reduction = Decimal(self.random.randint(1, int(remaining[line.record_id]) // 2))
            self.add_line(contract, line.product, -reduction, line.unit_annual_price, day, contract.end,
                          revised_id=line.record_id)
        else:
            product = self.random.choice(RECURRING)
            quantity = Decimal(self.random.randint(1, 10)) if product.family == "Seats" else Decimal(1)
            self.add_line(contract, product, quantity, self.unit_price(product, contract.currency), day, contract.end)

    def live_through(self, contract: _Contract, name: str, unit: str | None, parent_id: str | None) -> _Contract | None:
        """Amend, maybe terminate, write the contract, and return its renewal (or a winback)."""
        for day in self.amendment_days(contract):
            self.amend(contract, day)
        outcome = self.random.choices(
            ["same_day", "late_in_grace", "late_out_of_grace", "other_account", "churn", "terminate"],
            weights=[52, 14, 7, 5, 14, 8])[0]
        if outcome == "terminate":
            length = (contract.end - contract.start).days
            terminated = contract.start + timedelta(days=self.random.randint(20, max(21, length - 10)))
            for line in contract.lines:
                line.terminated = terminated
        successor = None
        if outcome not in ("churn", "terminate"):
            gap = {"same_day": 0, "other_account": 0, "late_in_grace": self.random.randint(1, 31),
                   "late_out_of_grace": self.random.randint(32, 120)}[outcome]
            start = contract.end + timedelta(days=1 + gap)
            if start <= self.shape.horizon:
                account_id = contract.account_id
                if outcome == "other_account":
                    other_unit = self.random.choice([u for u, *_ in BUSINESS_UNITS if u != unit])
                    account_id = self.write_account(f"{name} {other_unit or 'Global'}", other_unit, contract.currency,
                                                    parent_id, start)
                successor = self.renewal(contract, account_id, start)
        self.write_contract(contract)
        if successor is None and outcome in ("churn", "terminate") and self.random.random() < 0.25:
            restart = (contract.lines[0].terminated or contract.end) + timedelta(days=self.random.randint(60, 400))
            if restart <= self.shape.horizon:
                return self.new_business(contract.account_id, contract.currency, restart)
        return successor

    def renewal(self, previous: _Contract, account_id: str, start: date) -> _Contract:
        opportunity_id = self.new_id("Opportunity")
        contract = _Contract(account_id, start, previous.months, opportunity_id, previous.currency)
        # Either link alone makes a renewal (METHODOLOGY.md A3); real orgs have all three shapes.
        links = self.random.choice(["both", "both", "opportunity_only", "contract_only"])
        previous.renewal_opportunity_id = opportunity_id if links in ("both", "contract_only") else None
        contract.renewed_contract = previous if links in ("both", "opportunity_only") else None
        change = Decimal(self.random.choice([80, 90, 95, 100, 100, 100, 105, 110, 125])) / 100
        quantities: dict[str, tuple[Product, Decimal, Decimal]] = {}
        for line in previous.lines:
            if line.product not in RECURRING or (line.terminated and line.terminated <= line.end):
                continue
            product, quantity, price = quantities.get(line.product.name,
                                                      (line.product, Decimal(0), line.unit_annual_price))
            quantities[line.product.name] = (product, quantity + line.quantity, price)
        for product, quantity, price in quantities.values():
            if quantity > 0:
                self.add_line(contract, product, quantity, _money(price * change), start, contract.end)
        if not contract.lines:
            product = RECURRING[0]
            self.add_line(contract, product, Decimal(1), self.unit_price(product, contract.currency), start,
                          contract.end)
        return contract

    def write_contract(self, contract: _Contract) -> None:
        contract.record_id = self.new_id("Contract")
        renewed = contract.renewed_contract
        for opportunity_id, day in contract.amendments:
            self.emit("Opportunity", opportunity_id, {"AccountId": contract.account_id,
                                                      "SBQQ__RenewedContract__c": None,
                                                      "SBQQ__AmendedContract__c": contract.record_id}, day)
        self.emit("Opportunity", contract.opportunity_id,
                  {"AccountId": contract.account_id,
                   "SBQQ__RenewedContract__c": renewed.record_id if renewed else None,
                   "SBQQ__AmendedContract__c": None}, contract.start)
        self.emit("Contract", contract.record_id,
                  {"AccountId": contract.account_id, "StartDate": _iso(contract.start), "EndDate": _iso(contract.end),
                   "Status": "Activated", "SBQQ__Opportunity__c": contract.opportunity_id,
                   "SBQQ__RenewalOpportunity__c": contract.renewal_opportunity_id}, contract.start)
        for line in contract.lines:
            self.write_line(contract, line, line.record_id)
            if self.random.random() < 0.004:
                # A line keyed twice by mistake and deleted: it must take no part in any figure.
                self.write_line(contract, line, self.new_id("SBQQ__Subscription__c"), deleted=True)

    def write_line(self, contract: _Contract, line: _Line, record_id: str, deleted: bool = False) -> None:
        term_multiplier = line.prorate if line.prorate is not None else Decimal(1)
        net_price = _money(line.unit_annual_price * term_multiplier * (line.product.term_months or 12) / 12)
        inherits_dates = line.start == contract.start and line.end == contract.end and self.random.random() < 0.2
        self.emit("SBQQ__Subscription__c", record_id, {
            "SBQQ__Account__c": contract.account_id,
            "SBQQ__Contract__c": contract.record_id,
            "SBQQ__Product__c": self.product_ids[line.product.name],
            "SBQQ__Quantity__c": line.quantity.quantize(Decimal("0.0")),
            "SBQQ__NetPrice__c": net_price,
            "SBQQ__ProrateMultiplier__c": line.prorate,
            # CPQ leaves the line's own dates empty when they are the contract's.
            "SBQQ__StartDate__c": None if inherits_dates else _iso(line.start),
            "SBQQ__EndDate__c": None if inherits_dates else _iso(line.end),
            "SBQQ__TerminatedDate__c": _iso(line.terminated),
            "SBQQ__RevisedSubscription__c": line.revised_id,
            "CurrencyIsoCode": contract.currency,
        }, line.start, deleted)
        if not deleted:
            self.lines_written += 1


def generate_org(directory: Path, shape: OrgShape | None = None) -> dict[str, int]:
    """Generate an org into `directory`; returns the record count per object."""
    shape = shape or OrgShape()
    with SnapshotWriter(directory) as writer:
        generator = OrgGenerator(shape, writer)
        generator.write_currencies()
        generator.write_products()
        index = 0
        while index < shape.accounts if shape.lines is None else generator.lines_written < shape.lines:
            index += 1
            generator.customer(index)
        return dict(writer.counts)
