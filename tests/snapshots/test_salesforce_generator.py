"""The generated org is realistic: every rule of METHODOLOGY.md Part A occurs in it."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from revcert.snapshots.salesforce_generator import OrgShape, generate_org, salesforce_id
from revcert.snapshots.salesforce_snapshot import read_records


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    directory = tmp_path_factory.mktemp("default-org")
    generate_org(directory, OrgShape())
    names = ("Account", "Contract", "Opportunity", "SBQQ__Subscription__c", "Product2", "DatedConversionRate",
             "CurrencyType")
    return {name: list(read_records(directory, name)) for name in names}


def live(records):
    return [r for r in records if not r.get("IsDeleted")]


def contract_lines(org):
    lines = defaultdict(list)
    for line in live(org["SBQQ__Subscription__c"]):
        lines[line["SBQQ__Contract__c"]].append(line)
    return lines


def renewals(org) -> list[tuple[dict, dict]]:
    """(predecessor, successor) pairs by either of CPQ's two renewal links."""
    contracts = {c["Id"]: c for c in live(org["Contract"])}
    by_opportunity = {c["SBQQ__Opportunity__c"]: c for c in contracts.values()}
    pairs = []
    for opportunity in live(org["Opportunity"]):
        if opportunity["SBQQ__RenewedContract__c"] and opportunity["Id"] in by_opportunity:
            pairs.append((contracts[opportunity["SBQQ__RenewedContract__c"]], by_opportunity[opportunity["Id"]]))
    for contract in contracts.values():
        successor = by_opportunity.get(contract["SBQQ__RenewalOpportunity__c"])
        if successor and (contract, successor) not in pairs:
            pairs.append((contract, successor))
    return pairs


def gap_days(pair) -> int:
    before, after = pair
    return (date.fromisoformat(after["StartDate"]) - date.fromisoformat(before["EndDate"])).days - 1


def recurring_mrr(org, contract_id) -> Decimal:
    products = {p["Id"]: p for p in org["Product2"]}
    if "_lines" not in org:
        org["_lines"] = contract_lines(org)
    total = Decimal(0)
    for line in org["_lines"][contract_id]:
        product = products[line["SBQQ__Product__c"]]
        if product["SBQQ__ChargeType__c"] not in (None, "Recurring"):
            continue
        term = product["SBQQ__SubscriptionTerm__c"] or Decimal(12)
        prorate = line["SBQQ__ProrateMultiplier__c"] or Decimal(1)
        total += line["SBQQ__NetPrice__c"] * line["SBQQ__Quantity__c"] / (prorate * term)
    return total


def test_default_size_is_about_two_thousand_customers_over_four_years(org):
    starts = [date.fromisoformat(c["StartDate"]) for c in org["Contract"]]
    assert 2000 <= len(org["Account"]) <= 2600
    assert min(starts) < date(2022, 3, 1) and max(starts) > date(2026, 6, 1)


def test_ids_are_unique_and_real_salesforce_ids(org):
    for name, records in org.items():
        if name.startswith("_"):
            continue
        ids = [r["Id"] for r in records]
        assert len(ids) == len(set(ids)), name
        assert all(len(i) == 18 for i in ids), name
    assert salesforce_id("Account", 1) == "001Rc0000000001IAA"


def test_mid_month_upgrades_and_negative_quantity_amendments(org):
    contracts = {c["Id"]: c for c in org["Contract"]}
    amendment_lines = [line for line in live(org["SBQQ__Subscription__c"]) if line["SBQQ__StartDate__c"]
                       and line["SBQQ__StartDate__c"] != contracts[line["SBQQ__Contract__c"]]["StartDate"]]
    upgrades = [line for line in amendment_lines
                if line["SBQQ__Quantity__c"] > 0 and not line["SBQQ__StartDate__c"].endswith("-01")]
    reductions = [line for line in amendment_lines if line["SBQQ__Quantity__c"] < 0]
    assert len(upgrades) > 50 and len(reductions) > 20
    assert all(line["SBQQ__RevisedSubscription__c"] for line in reductions)
    products = {p["Id"]: p for p in org["Product2"]}
    for line in amendment_lines:
        term = products[line["SBQQ__Product__c"]]["SBQQ__SubscriptionTerm__c"] or Decimal(12)
        # Prorated by day to the rest of the contract: never much more than the longest contract's
        # 36 months (a 1-month term measured in February days stretches it to at most 36 x 31/28).
        assert Decimal(0) < (line["SBQQ__ProrateMultiplier__c"] or Decimal(1)) * term <= Decimal(36 * 31) / 28


def test_terminations_one_time_and_usage_charges(org):
    products = {p["Id"]: p for p in org["Product2"]}
    charge_types = {products[line["SBQQ__Product__c"]]["SBQQ__ChargeType__c"]
                    for line in live(org["SBQQ__Subscription__c"])}
    assert {"Recurring", None, "One-Time", "Usage"} <= charge_types
    assert sum(1 for line in org["SBQQ__Subscription__c"] if line["SBQQ__TerminatedDate__c"]) > 50


def test_same_day_renewals_at_higher_and_lower_prices(org):
    same_day = [pair for pair in renewals(org) if gap_days(pair) == 0]
    changes = {(recurring_mrr(org, after["Id"]) > recurring_mrr(org, before["Id"]),
                recurring_mrr(org, after["Id"]) < recurring_mrr(org, before["Id"])) for before, after in same_day}
    assert (True, False) in changes and (False, True) in changes


def test_late_renewals_inside_and_outside_the_grace_and_on_other_accounts(org):
    pairs = renewals(org)
    assert any(1 <= gap_days(p) <= 31 for p in pairs)
    assert any(gap_days(p) > 31 for p in pairs)
    assert any(before["AccountId"] != after["AccountId"] for before, after in pairs)


def test_both_renewal_links_occur_alone_and_together(org):
    contracts = live(org["Contract"])
    renewed_by_opportunity = {o["Id"] for o in live(org["Opportunity"]) if o["SBQQ__RenewedContract__c"]}
    renewal_opportunities = {c["SBQQ__RenewalOpportunity__c"] for c in contracts if c["SBQQ__RenewalOpportunity__c"]}
    assert renewed_by_opportunity - renewal_opportunities
    assert renewal_opportunities - renewed_by_opportunity
    assert renewal_opportunities & renewed_by_opportunity


def test_three_or_more_currencies_with_changing_rates(org):
    rates = defaultdict(set)
    for rate in org["DatedConversionRate"]:
        rates[rate["IsoCode"]].add(rate["ConversionRate"])
    changing = [code for code, values in rates.items() if len(values) > 4]
    assert len(changing) >= 3
    assert [c["IsoCode"] for c in org["CurrencyType"] if c["IsCorporate"]] == ["USD"]
    line_currencies = {line["CurrencyIsoCode"] for line in org["SBQQ__Subscription__c"]}
    assert len(line_currencies - {"USD"}) >= 3


def test_deleted_records_business_units_and_leap_days(org):
    for name in ("Account", "Opportunity", "SBQQ__Subscription__c", "Product2"):
        assert any(r["IsDeleted"] for r in org[name]), name
    units = {a["Business_Unit__c"] for a in org["Account"]}
    assert {"NA", "EMEA", "APAC", None} <= units
    dates = {v for name in ("Contract", "SBQQ__Subscription__c") for r in org[name] for v in r.values()
             if isinstance(v, str)}
    assert "2024-02-29" in dates


def test_same_seed_same_org_byte_for_byte(tmp_path: Path):
    generate_org(tmp_path / "a", OrgShape(accounts=40, seed=5))
    generate_org(tmp_path / "b", OrgShape(accounts=40, seed=5))
    generate_org(tmp_path / "c", OrgShape(accounts=40, seed=6))
    for name in ("Account", "SBQQ__Subscription__c"):
        first = (tmp_path / "a" / f"{name}.jsonl").read_bytes()
        assert first == (tmp_path / "b" / f"{name}.jsonl").read_bytes()
        assert first != (tmp_path / "c" / f"{name}.jsonl").read_bytes()


def test_line_target_is_reached(tmp_path: Path):
    counts = generate_org(tmp_path, OrgShape(lines=3000))
    live_lines = sum(1 for r in read_records(tmp_path, "SBQQ__Subscription__c") if not r["IsDeleted"])
    assert 3000 <= live_lines < 3100
    assert counts["SBQQ__Subscription__c"] >= live_lines


def test_modstamps_are_before_extraction(org):
    for name, records in org.items():
        if name.startswith("_"):
            continue
        assert max(r["SystemModstamp"] for r in records) < "2026-11-01T00:00:00.000+0000", name
