"""The account behind each record a page names, read from a staged org in a real PostgreSQL and checked
against what the org itself says (Account.Name, Business_Unit__c)."""
from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
from revcert.local.extract import extract_salesforce
from revcert.notifications.accounts import (
    Account,
    accounts_of_records,
    salesforce_instance_url,
    salesforce_record_url,
)
from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from tests.conftest import new_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def org(small_org: Path) -> SalesforceOrg:
    org = SalesforceOrg.from_snapshot(small_org)
    line = next(r for r in live(org, "SBQQ__Subscription__c") if r["SBQQ__Contract__c"])
    # A line booked on no account (its contract's account stands in) and an account with no business unit.
    org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {"SBQQ__Account__c": None}})
    account = live(org, "Account")[0]
    org.apply_edits("Account", changes={account["Id"]: {"Business_Unit__c": None}})
    return org


@pytest.fixture(scope="module")
def staged(postgres_server, org: SalesforceOrg, tmp_path_factory) -> str:
    url = new_database(postgres_server)
    with SalesforceStandIn(org, state_dir=tmp_path_factory.mktemp("accounts-standin")) as standin:
        extract_salesforce(url, SalesforceClient(SalesforceCredentials(standin.url, standin.client_id,
                                                                       standin.client_secret, str(standin.ca_bundle))))
    return url


def live(org: SalesforceOrg, object_name: str) -> list[dict]:
    return [r for r in org.objects[object_name].values() if not r.get("IsDeleted")]


def as_the_org_says(org: SalesforceOrg, account_id: str) -> Account:
    account = org.objects["Account"][account_id]
    return Account(account_id, account["Name"], account["Business_Unit__c"] or "UNASSIGNED", False)


def test_lines_contracts_and_accounts_resolve_to_the_account_the_org_books_them_on(org, staged):
    lines = live(org, "SBQQ__Subscription__c")
    booked = next(r for r in lines if r["SBQQ__Account__c"])
    unbooked = next(r for r in lines if not r["SBQQ__Account__c"])
    contract = org.objects["Contract"][unbooked["SBQQ__Contract__c"]]
    unassigned = next(a for a in live(org, "Account") if not a["Business_Unit__c"])
    with psycopg.connect(staged) as conn:
        found = accounts_of_records(conn, [booked["Id"], unbooked["Id"], contract["Id"], unassigned["Id"],
                                           "CurrencyType", "5550001"])
    assert found == {
        booked["Id"]: as_the_org_says(org, booked["SBQQ__Account__c"]),
        unbooked["Id"]: as_the_org_says(org, contract["AccountId"]),
        contract["Id"]: as_the_org_says(org, contract["AccountId"]),
        unassigned["Id"]: as_the_org_says(org, unassigned["Id"]),
    }
    assert found[unassigned["Id"]].business_unit == "UNASSIGNED"


def test_no_ids_no_query_and_a_link_only_when_the_org_is_named(staged):
    with psycopg.connect(staged) as conn:
        assert accounts_of_records(conn, []) == {}
    assert salesforce_record_url("https://acme.my.salesforce.com/", "001A") == "https://acme.my.salesforce.com/001A"
    assert salesforce_record_url(None, "001A") is None


def test_the_org_url_comes_from_the_salesforce_connection_when_it_names_one(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ORG_NAMED", json.dumps({"conn_type": "http", "host": "acme.my.salesforce.com",
                                                              "login": "client", "password": "secret"}))
    monkeypatch.setenv("AIRFLOW_CONN_ORG_UNNAMED", json.dumps({"conn_type": "http", "login": "client"}))
    assert salesforce_instance_url("org_named") == "https://acme.my.salesforce.com"
    assert salesforce_instance_url("org_unnamed") is None
    assert salesforce_instance_url("org_not_configured") is None
