"""A half-day's changes to a generated org at the source, for the bench's incremental run (issue 16).

About one record in a hundred changes, spread across customers chosen at random, one change each, in turn:
a line repriced or its quantity raised, an amendment (a new line on a contract, with its opportunity), a
renewal (a contract and its opportunity renewing a contract that has no successor, with its lines, linked
both ways), a line deleted. Besides, one account moves to another business unit and one dated conversion
rate is corrected: changes that reach customers through accounts and rates. Every change keeps the org
within the methodology's rules, so the run after it can be certified.
"""
from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

from revcert.settings import Settings
from revcert.snapshots.salesforce_generator import BUSINESS_UNITS, salesforce_id
from revcert.snapshots.salesforce_snapshot import Record
from revcert.standins.salesforce.server import SalesforceOrg

CHANGED_SHARE = 100  # one record in a hundred
SEED = 20261122
# New records are numbered above every Id the generator hands out.
FIRST_NEW_NUMBER = 10**15
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
PRORATE_PLACES = Decimal("1E-16")
RATE_CORRECTION = Decimal("1.001")
PRICE_RISE = Decimal("1.10")
RENEWAL_HORIZON_DAYS = 90  # a contract ending within this many days of the as-of date may be renewed now


@dataclass
class OrgChanges:
    """Changes gathered by object and applied together; `kinds` counts the changes made to customers in turn,
    `records` every record changed, added or deleted, of the org's `org_records` before."""

    org_records: int
    changes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    new: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))
    deletions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    kinds: Counter[str] = field(default_factory=Counter)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(FIRST_NEW_NUMBER))

    @property
    def records(self) -> int:
        return (sum(map(len, self.changes.values())) + sum(map(len, self.new.values()))
                + sum(map(len, self.deletions.values())))

    def new_id(self, object_name: str) -> str:
        return salesforce_id(object_name, next(self._numbers))

    def apply_to(self, org: SalesforceOrg) -> None:
        for object_name in sorted({*self.changes, *self.new, *self.deletions}):
            org.apply_edits(object_name, changes=self.changes.get(object_name), new=self.new.get(object_name),
                            deletions=self.deletions.get(object_name))


@dataclass(frozen=True)
class _LiveOrg:
    """The live records a change is chosen from."""

    contracts: dict[str, list[Record]]  # by account
    lines: dict[str, list[Record]]  # by contract
    revised: set[str]  # lines a live line revises
    renewed: set[str]  # contracts with a successor, by either link
    terms: dict[str, int]  # recurring products' subscription terms in months


def _live_org(org: SalesforceOrg) -> _LiveOrg:
    def live(object_name: str) -> list[Record]:
        return [record for record in org.objects[object_name].values() if not record["IsDeleted"]]

    contracts, lines = defaultdict(list), defaultdict(list)
    for contract in live("Contract"):
        contracts[contract["AccountId"]].append(contract)
    for line in live("SBQQ__Subscription__c"):
        lines[line["SBQQ__Contract__c"]].append(line)
    renewed = {contract["Id"] for rows in contracts.values() for contract in rows
               if contract["SBQQ__RenewalOpportunity__c"]}
    renewed |= {opportunity["SBQQ__RenewedContract__c"] for opportunity in live("Opportunity")}
    terms = {product["Id"]: int(product["SBQQ__SubscriptionTerm__c"] or 12) for product in live("Product2")
             if product["SBQQ__ChargeType__c"] in (None, "Recurring")}
    revised = {line["SBQQ__RevisedSubscription__c"] for rows in lines.values() for line in rows}
    return _LiveOrg(contracts, lines, revised, renewed, terms)


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _recurring_lines(org: _LiveOrg, contract: Record) -> list[Record]:
    """The contract's live lines of a recurring product that add MRR and are not terminated."""
    return [line for line in org.lines[contract["Id"]] if line["SBQQ__Product__c"] in org.terms
            and line["SBQQ__Quantity__c"] > 0 and not line["SBQQ__TerminatedDate__c"]]


def _prorate(start: date, end: date, term_months: int) -> Decimal | None:
    """CPQ's day-based proration of a line from `start` to `end`; None for exactly one term."""
    days = (end - start).days + 1
    term_days = (start + relativedelta(months=term_months) - start).days
    return None if days == term_days else (Decimal(days) / Decimal(term_days)).quantize(PRORATE_PLACES)


def _line_like(template: Record, record_id: str, contract_id: str, start: date, end: date, quantity: Decimal,
               term_months: int) -> Record:
    """A new line of `template`'s product, currency and price per term, over `start` to `end`."""
    price_per_term = template["SBQQ__NetPrice__c"] / (template["SBQQ__ProrateMultiplier__c"] or 1)
    prorate = _prorate(start, end, term_months)
    return {**template, "Id": record_id, "SBQQ__Contract__c": contract_id, "SBQQ__Quantity__c": quantity,
            "SBQQ__NetPrice__c": (price_per_term * (prorate or 1)).quantize(CENT, rounding=ROUND_HALF_EVEN),
            "SBQQ__ProrateMultiplier__c": prorate, "SBQQ__StartDate__c": start.isoformat(),
            "SBQQ__EndDate__c": end.isoformat(), "SBQQ__TerminatedDate__c": None,
            "SBQQ__RevisedSubscription__c": None, "IsDeleted": False}


def _edit_line(org: _LiveOrg, changes: OrgChanges, account_id: str, as_of: date, chooser: random.Random) -> bool:
    """A recurring line repriced or its quantity raised (either way its MRR rises, so no customer goes negative)."""
    lines = [line for contract in org.contracts[account_id] for line in _recurring_lines(org, contract)]
    if not lines:
        return False
    line = chooser.choice(lines)
    changes.changes["SBQQ__Subscription__c"][line["Id"]] = (
        {"SBQQ__NetPrice__c": (line["SBQQ__NetPrice__c"] * PRICE_RISE).quantize(CENT, rounding=ROUND_HALF_EVEN)}
        if chooser.random() < 0.5 else {"SBQQ__Quantity__c": line["SBQQ__Quantity__c"] + 1})
    return True


def _amend(org: _LiveOrg, changes: OrgChanges, account_id: str, as_of: date, chooser: random.Random) -> bool:
    """One more unit of a recurring line's product on its contract from the as-of date (kept 30 days inside the
    contract), with the amendment's opportunity."""
    candidates = [(contract, line) for contract in org.contracts[account_id] for line in _recurring_lines(org, contract)
                  if (_day(contract["EndDate"]) - _day(contract["StartDate"])).days >= 60]
    if not candidates:
        return False
    contract, template = chooser.choice(candidates)
    end = _day(contract["EndDate"])
    start = min(max(as_of, _day(contract["StartDate"]) + timedelta(days=30)), end - timedelta(days=30))
    changes.new["Opportunity"].append({
        "Id": changes.new_id("Opportunity"), "AccountId": account_id, "SBQQ__RenewedContract__c": None,
        "SBQQ__AmendedContract__c": contract["Id"], "IsDeleted": False})
    changes.new["SBQQ__Subscription__c"].append(_line_like(
        template, changes.new_id("SBQQ__Subscription__c"), contract["Id"], start, end, Decimal("1.0"),
        org.terms[template["SBQQ__Product__c"]]))
    return True


def _renew(org: _LiveOrg, changes: OrgChanges, account_id: str, as_of: date, chooser: random.Random) -> bool:
    """The account's latest contract without a successor (churned, or ending soon) renewed the day after it
    ends for as long, each product at its quantity after amendments and its price per term."""
    candidates = [contract for contract in org.contracts[account_id] if contract["Id"] not in org.renewed
                  and _day(contract["EndDate"]) < as_of + timedelta(days=RENEWAL_HORIZON_DAYS)
                  and not any(line["SBQQ__TerminatedDate__c"] for line in org.lines[contract["Id"]])
                  and _recurring_lines(org, contract)]
    if not candidates:
        return False
    previous = max(candidates, key=lambda contract: contract["EndDate"])
    start = _day(previous["EndDate"]) + timedelta(days=1)
    end = start + (_day(previous["EndDate"]) - _day(previous["StartDate"]))
    opportunity_id, contract_id = changes.new_id("Opportunity"), changes.new_id("Contract")
    changes.new["Opportunity"].append({
        "Id": opportunity_id, "AccountId": account_id, "SBQQ__RenewedContract__c": previous["Id"],
        "SBQQ__AmendedContract__c": None, "IsDeleted": False})
    changes.new["Contract"].append({
        "Id": contract_id, "AccountId": account_id, "StartDate": start.isoformat(), "EndDate": end.isoformat(),
        "Status": "Activated", "SBQQ__Opportunity__c": opportunity_id, "SBQQ__RenewalOpportunity__c": None,
        "IsDeleted": False})
    changes.changes["Contract"][previous["Id"]] = {"SBQQ__RenewalOpportunity__c": opportunity_id}
    lines = {line["Id"]: line for line in org.lines[previous["Id"]] if line["SBQQ__Product__c"] in org.terms}
    quantities: Counter[str] = Counter()
    for line in lines.values():
        quantities[line["SBQQ__RevisedSubscription__c"] or line["Id"]] += line["SBQQ__Quantity__c"]
    for line_id, quantity in quantities.items():
        if quantity > 0 and line_id in lines:
            changes.new["SBQQ__Subscription__c"].append(_line_like(
                lines[line_id], changes.new_id("SBQQ__Subscription__c"), contract_id, start, end, quantity,
                org.terms[lines[line_id]["SBQQ__Product__c"]]))
    return True


def _delete_line(org: _LiveOrg, changes: OrgChanges, account_id: str, as_of: date, chooser: random.Random) -> bool:
    """A recurring line that no line revises deleted from a contract with other lines."""
    lines = [line for contract in org.contracts[account_id] if len(org.lines[contract["Id"]]) > 1
             for line in org.lines[contract["Id"]]
             if line["SBQQ__Product__c"] in org.terms and line["Id"] not in org.revised]
    if not lines:
        return False
    changes.deletions["SBQQ__Subscription__c"].append(chooser.choice(lines)["Id"])
    return True


CHANGES: dict[str, Callable[[_LiveOrg, OrgChanges, str, date, random.Random], bool]] = {
    "line edits": _edit_line, "amendments": _amend, "renewals": _renew, "line deletions": _delete_line}


def _move_business_unit(org: SalesforceOrg, changes: OrgChanges, account_id: str) -> None:
    unit_field = Settings().business_unit_field
    current = org.objects["Account"][account_id].get(unit_field)
    changes.changes["Account"][account_id] = {unit_field: next(unit for unit, *_ in BUSINESS_UNITS
                                                               if unit and unit != current)}


def _correct_rate(org: SalesforceOrg, changes: OrgChanges, as_of: date) -> None:
    """Correct the rate in force on the as-of date of the first currency (by code) other than the corporate one."""
    corporate = {currency["IsoCode"] for currency in org.objects["CurrencyType"].values() if currency["IsCorporate"]}
    rate = min((rate for rate in org.objects["DatedConversionRate"].values() if rate["IsoCode"] not in corporate
                and rate["StartDate"] <= as_of.isoformat() < (rate["NextStartDate"] or "9999-12-31")),
               key=lambda rate: rate["IsoCode"])
    changes.changes["DatedConversionRate"][rate["Id"]] = {
        "ConversionRate": (rate["ConversionRate"] * RATE_CORRECTION).quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)}


def change_one_percent(org: SalesforceOrg, as_of: date) -> OrgChanges:
    """Change about one record in a hundred of `org` at the source, as described above, and return the changes.

    The changed and new records get a SystemModstamp newer than any in the org, so an incremental extraction
    reads them.
    """
    live = _live_org(org)
    chooser = random.Random(SEED)
    accounts = sorted(live.contracts)
    chooser.shuffle(accounts)
    changes = OrgChanges(sum(map(len, org.objects.values())))
    _move_business_unit(org, changes, accounts[0])
    _correct_rate(org, changes, as_of)
    kinds = itertools.cycle(CHANGES.items())
    kind, change = next(kinds)
    for account_id in accounts[1:]:
        if changes.records >= changes.org_records // CHANGED_SHARE:
            break
        if change(live, changes, account_id, as_of, chooser):
            changes.kinds[kind] += 1
            kind, change = next(kinds)
    changes.apply_to(org)
    return changes
