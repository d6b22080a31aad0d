"""The standing corpus of bad Salesforce input, run through the certified_mrr DAG (dag.test) the way the
scheduler runs it: each kind fails the run at the step that owns the rule, names the rule and the records
in one page, changes nothing in viz and leaves no record open. Add a row for every new kind met."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from revcert.standins.salesforce.server import SalesforceOrg
from tests.airflow_harness import load_certified_mrr_dag, run_dag
from tests.faults.checks import left_open, viz_fingerprint

pytestmark = pytest.mark.integration

Plant = Callable[[SalesforceOrg], list[str]]


@dataclass(frozen=True)
class BadInput:
    kind: str
    plant: Plant  # changes the org; returns the record ids the page must name
    rule: str  # the rule's name or wording, as the page gives it
    failing_task: str


def live(org: SalesforceOrg, object_name: str) -> list[dict]:
    return [r for r in org.objects[object_name].values() if not r.get("IsDeleted")]


def a_line(org: SalesforceOrg) -> dict:
    """A live line of a recurring product with its own dates, in service on the as-of date."""
    recurring = {p["Id"] for p in live(org, "Product2") if p["SBQQ__ChargeType__c"] == "Recurring"}
    return next(r for r in live(org, "SBQQ__Subscription__c")
                if r["SBQQ__Product__c"] in recurring and r["SBQQ__StartDate__c"] and r["SBQQ__EndDate__c"]
                and r["SBQQ__StartDate__c"] <= "2026-11-21" <= r["SBQQ__EndDate__c"]
                and not r["SBQQ__RevisedSubscription__c"])


def edit_line(**values) -> Plant:
    def plant(org: SalesforceOrg) -> list[str]:
        line = a_line(org)
        org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: values})
        return [line["Id"]]
    return plant


def accepted(plant: Plant) -> Plant:
    """The plant, for input that is certified: it names no record (only business units must show in viz)."""
    def accept(org: SalesforceOrg) -> list[str]:
        plant(org)
        return []
    return accept


def edit_object(object_name: str, pick: Callable[[SalesforceOrg], dict], **values) -> Plant:
    def plant(org: SalesforceOrg) -> list[str]:
        record = pick(org)
        org.apply_edits(object_name, changes={record["Id"]: values})
        return [record["Id"]]
    return plant


def contract_of_line(org: SalesforceOrg) -> dict:
    return org.objects["Contract"][a_line(org)["SBQQ__Contract__c"]]


def account_of_line(org: SalesforceOrg) -> dict:
    return org.objects["Account"][contract_of_line(org)["AccountId"]]


def line_of_product(**values) -> Plant:
    """A product of its own (changed by `values`) given to one line, so only that line is affected."""
    def plant(org: SalesforceOrg) -> list[str]:
        line = a_line(org)
        product = {**org.objects["Product2"][line["SBQQ__Product__c"]], "Id": "01tFAULTPRODUCT0AA", **values}
        org.apply_edits("Product2", new=[product])
        org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {"SBQQ__Product__c": product["Id"]}})
        return [line["Id"]]
    return plant


def line_in_currency(currency: str) -> Plant:
    def plant(org: SalesforceOrg) -> list[str]:
        line = a_line(org)
        org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {"CurrencyIsoCode": currency}})
        return [line["Id"], f"currency {currency}"]
    return plant


def renewal_cycle(org: SalesforceOrg) -> list[str]:
    contracts = live(org, "Contract")
    by_opportunity = {c["SBQQ__Opportunity__c"]: c for c in contracts}
    predecessor = next(c for c in contracts if c["SBQQ__RenewalOpportunity__c"] in by_opportunity)
    successor = by_opportunity[predecessor["SBQQ__RenewalOpportunity__c"]]
    org.apply_edits("Contract", changes={successor["Id"]: {
        "SBQQ__RenewalOpportunity__c": predecessor["SBQQ__Opportunity__c"]}})
    return [predecessor["Id"], successor["Id"]]


def renewal_across_customers(org: SalesforceOrg) -> list[str]:
    """A contract renewed by two others' renewal opportunities, each of another customer: one chain, two customers."""
    contracts = live(org, "Contract")
    by_opportunity = {c["SBQQ__Opportunity__c"]: c for c in contracts}
    predecessor = next(c for c in contracts if c["SBQQ__RenewalOpportunity__c"] in by_opportunity)
    successor = by_opportunity[predecessor["SBQQ__RenewalOpportunity__c"]]
    stranger = next(c for c in contracts if c["AccountId"] not in (predecessor["AccountId"], successor["AccountId"])
                    and c["Id"] not in (predecessor["Id"], successor["Id"]))
    org.apply_edits("Contract", changes={stranger["Id"]: {
        "SBQQ__RenewalOpportunity__c": successor["SBQQ__Opportunity__c"]}})
    return [successor["Id"]]


def deleted_customer_account(org: SalesforceOrg) -> list[str]:
    """The customer is the account of the chain's first contract (A3): delete that one."""
    renewed = {c["SBQQ__RenewalOpportunity__c"] for c in live(org, "Contract")}
    root = next(c for c in live(org, "Contract") if c["SBQQ__Opportunity__c"] not in renewed
                and c["SBQQ__RenewalOpportunity__c"] and c["AccountId"] in org.objects["Account"])
    org.apply_edits("Account", deletions=[root["AccountId"]])
    return [root["Id"]]


def deleted_contract(org: SalesforceOrg) -> list[str]:
    line = a_line(org)
    org.apply_edits("Contract", deletions=[line["SBQQ__Contract__c"]])
    return [line["Id"]]


def negative_customer(org: SalesforceOrg) -> list[str]:
    line = a_line(org)
    org.apply_edits("SBQQ__Subscription__c", new=[{**line, "Id": "a1BNEGATIVEMRR0AAA",
                                                   "SBQQ__Quantity__c": -line["SBQQ__Quantity__c"] * 3,
                                                   "SBQQ__RevisedSubscription__c": line["Id"]}])
    return ["a1BNEGATIVEMRR0AAA"]


def no_corporate_currency(org: SalesforceOrg) -> list[str]:
    corporate = next(c for c in org.objects["CurrencyType"].values() if c["IsCorporate"])
    org.apply_edits("CurrencyType", changes={corporate["Id"]: {"IsCorporate": False}})
    return []


def two_corporate_currencies(org: SalesforceOrg) -> list[str]:
    other = next(c for c in org.objects["CurrencyType"].values() if not c["IsCorporate"])
    org.apply_edits("CurrencyType", changes={other["Id"]: {"IsCorporate": True}})
    return [other["IsoCode"]]


def overlapping_rates(org: SalesforceOrg) -> list[str]:
    """Two dated rates of one currency cover the same days: which one converts a line is undefined."""
    rate = next(r for r in org.objects["DatedConversionRate"].values() if r["IsoCode"] != "USD")
    overlap = {**rate, "Id": "04wFAULTOVERLAP0AA", "ConversionRate": Decimal("0.5")}
    org.apply_edits("DatedConversionRate", new=[overlap])
    return [rate["IsoCode"]]


def without_dates(org: SalesforceOrg) -> list[str]:
    line = a_line(org)
    org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {"SBQQ__StartDate__c": None,
                                                                   "SBQQ__EndDate__c": None}})
    org.apply_edits("Contract", changes={line["SBQQ__Contract__c"]: {"StartDate": None, "EndDate": None}})
    return [line["Id"]]


def lower_cased_reference(org: SalesforceOrg) -> list[str]:
    """Salesforce Ids are case-sensitive: a line pointing at its contract's Id in lower case points at nothing."""
    line = a_line(org)
    org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {
        "SBQQ__Contract__c": line["SBQQ__Contract__c"].lower()}})
    return [line["Id"]]


def revising_another_contract(org: SalesforceOrg) -> list[str]:
    """An amendment line revising a line of another contract (A2 reads each line alone: it counts on its own)."""
    line = a_line(org)
    other = next(r for r in live(org, "SBQQ__Subscription__c") if r["SBQQ__Contract__c"] != line["SBQQ__Contract__c"])
    org.apply_edits("SBQQ__Subscription__c", new=[{**line, "Id": "a1BFAULTREVISION0A",
                                                   "SBQQ__RevisedSubscription__c": other["Id"]}])
    return ["a1BFAULTREVISION0A"]


# Field by field, every kind of malformed value is in tests/extraction/test_salesforce_objects.py; these rows
# take a few of them through the whole DAG.
FIELD_RULE = "every field must parse as its type"

CORPUS = [
    BadInput("price with a decimal comma", edit_line(SBQQ__NetPrice__c="12,50"), FIELD_RULE, "extract"),
    BadInput("price 1e400", edit_line(SBQQ__NetPrice__c=Decimal("1e400")), FIELD_RULE, "extract"),
    BadInput("price with seven decimals", edit_line(SBQQ__NetPrice__c=Decimal("10.1234567")), FIELD_RULE, "extract"),
    BadInput("reference with SQL in it", edit_line(SBQQ__Contract__c="800'; drop table x"), FIELD_RULE, "extract"),
    BadInput("account name as a number", edit_object("Account", account_of_line, Name=42), FIELD_RULE, "extract"),
    BadInput("conversion rate as text", edit_object(
        "DatedConversionRate", lambda org: next(iter(org.objects["DatedConversionRate"].values())),
        ConversionRate="about one"), FIELD_RULE, "extract"),
    BadInput("line ends before it starts", edit_line(SBQQ__StartDate__c="2026-06-01", SBQQ__EndDate__c="2026-05-01"),
             "line_end_before_start", "transform"),
    BadInput("line without a price", edit_line(SBQQ__NetPrice__c=None), "missing_price_or_quantity", "transform"),
    BadInput("line without a quantity", edit_line(SBQQ__Quantity__c=None), "missing_price_or_quantity", "transform"),
    BadInput("prorate multiplier zero", edit_line(SBQQ__ProrateMultiplier__c=Decimal(0)), "bad_prorate_multiplier",
             "transform"),
    BadInput("prorate multiplier negative", edit_line(SBQQ__ProrateMultiplier__c=Decimal(-1)),
             "bad_prorate_multiplier", "transform"),
    BadInput("subscription term zero", line_of_product(SBQQ__SubscriptionTerm__c=0), "bad_subscription_term",
             "transform"),
    BadInput("subscription term negative", line_of_product(SBQQ__SubscriptionTerm__c=-12), "bad_subscription_term",
             "transform"),
    BadInput("product that does not exist", edit_line(SBQQ__Product__c="01tNOSUCHPRODUCTAA"), "line_without_product",
             "transform"),
    BadInput("line in a currency without rates", line_in_currency("CHF"), "missing_conversion_rate", "transform"),
    BadInput("currency code in lower case", line_in_currency("eur"), "missing_conversion_rate", "transform"),
    BadInput("renewal cycle", renewal_cycle, "renewal_cycle", "transform"),
    BadInput("one chain renewing two customers", renewal_across_customers, "merged_customers", "transform"),
    BadInput("customer account deleted", deleted_customer_account, "contract_without_account", "transform"),
    BadInput("line of a deleted contract", deleted_contract, "line_without_contract", "transform"),
    BadInput("reference in the wrong case", lower_cased_reference, "line_without_contract", "transform"),
    BadInput("line and contract without dates", without_dates, "missing_service_dates", "transform"),
    BadInput("customer MRR below zero", negative_customer, "negative_customer_mrr", "transform"),
    BadInput("no corporate currency", no_corporate_currency, "unknown_reporting_currency", "transform"),
    BadInput("two corporate currencies", two_corporate_currencies, "unknown_reporting_currency", "transform"),
    BadInput("conversion rate periods overlap", overlapping_rates, "overlapping_conversion_rates", "transform"),
]


@pytest.fixture(scope="module")
def dag(airflow_db):
    return load_certified_mrr_dag()


def certification(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("select status, failure_summary from certification.certification_run "
                            "order by certification_id desc limit 1").fetchone()


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.kind for bad in CORPUS])
def test_bad_input_fails_the_run_naming_the_rule_and_the_records(bad, dag, monkeypatch, tiny_org: Path,
                                                                tiny_org_warehouse, slack, tmp_path):
    url = tiny_org_warehouse
    org = SalesforceOrg.from_snapshot(tiny_org)
    named = bad.plant(org)
    before = viz_fingerprint(url)
    state, tasks = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path)
    assert state == "failed" and tasks[bad.failing_task] == "failed", (tasks, slack.texts)
    assert tasks["publish"] == "skipped" and tasks["close_run"] == "failed", tasks
    assert viz_fingerprint(url) == before
    assert len(slack.texts) == 1 and slack.texts[0].startswith(":rotating_light:"), slack.texts
    for text in (bad.rule, *named):
        assert text in slack.texts[0], (text, slack.texts[0])
    # The checks after the refusing step are listed as blocked, not as failures of their own.
    assert "*independent_derivation* (blocked): not run" in slack.texts[0]
    status, summary = certification(url)
    assert status == "failed" and bad.rule in summary, summary
    assert left_open(url) == []


def business_unit_renamed(org: SalesforceOrg) -> list[str]:
    org.apply_edits("Account", changes={a["Id"]: {"Business_Unit__c": "EMEA North"}
                                        for a in live(org, "Account") if a["Business_Unit__c"] == "EMEA"})
    return ["EMEA North"]


def deleted_booking_account(org: SalesforceOrg) -> list[str]:
    """The tiny org's first line in service is a renewal booked on another account than its customer's."""
    contract = contract_of_line(org)
    org.apply_edits("Account", deletions=[contract["AccountId"]])
    return []


def evergreen_line(org: SalesforceOrg) -> list[str]:
    line = a_line(org)
    org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {"SBQQ__EndDate__c": "9999-12-31"}})
    return []


# Input that looks wrong and is not: the methodology has a reading for each (docs/methodology-decisions.md).
ODD_BUT_VALID = {
    "product without a charge type (A2: recurring)": accepted(line_of_product(SBQQ__ChargeType__c=None)),
    "amendment revising another contract's line (A2: each line alone)": accepted(revising_another_contract),
    "contract booked on a deleted account, customer alive (A3: root's account)": deleted_booking_account,
    "business unit renamed between runs (A3: as it is now)": business_unit_renamed,
    "evergreen end 9999-12-31 (open end)": evergreen_line,
    "price with six decimals (the field is (18, 6))": accepted(edit_line(SBQQ__NetPrice__c=Decimal("10.123456"))),
}


@pytest.mark.parametrize("plant", ODD_BUT_VALID.values(), ids=ODD_BUT_VALID.keys())
def test_odd_but_valid_input_is_certified_and_published(plant, dag, monkeypatch, tiny_org: Path, tiny_org_warehouse,
                                                        slack, tmp_path):
    url = tiny_org_warehouse
    org = SalesforceOrg.from_snapshot(tiny_org)
    units = plant(org)
    state, tasks = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path)
    assert state == "success", (tasks, slack.texts)
    status, _ = certification(url)
    assert status == "certified" and slack.texts[0].startswith(":white_check_mark:")
    with psycopg.connect(url) as conn:
        published = {row[0] for row in conn.execute("select distinct business_unit from viz.mrr_bridge")}
    assert set(units) <= published
    assert left_open(url) == []
