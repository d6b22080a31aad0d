"""The stand-in speaks Salesforce's protocol: simple-salesforce talks to it unmodified."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from revcert.snapshots.salesforce_snapshot import read_records
from revcert.standins.salesforce.server import Fault, SalesforceOrg, SalesforceStandIn

pytestmark = pytest.mark.integration


def login(standin: SalesforceStandIn, timeout: float | None = None) -> Salesforce:
    session = requests.Session()
    token = session.post(f"{standin.url}/services/oauth2/token", verify=str(standin.ca_bundle),
                         data={"grant_type": "client_credentials", "client_id": standin.client_id,
                               "client_secret": standin.client_secret}).json()
    session.verify = str(standin.ca_bundle)
    session.trust_env = False  # the CA bundle above, not REQUESTS_CA_BUNDLE
    if timeout:
        session.request = _with_timeout(session.request, timeout)
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=session,
                      version="62.0", parse_float=Decimal)


def _with_timeout(request, timeout):
    def send(*args, **kwargs):
        kwargs.setdefault("timeout", timeout)
        return request(*args, **kwargs)
    return send


def snapshot_lines(small_org, *, include_deleted: bool):
    return [r for r in read_records(small_org, "SBQQ__Subscription__c") if include_deleted or not r["IsDeleted"]]


def test_wrong_client_secret_is_refused(standin):
    response = requests.post(f"{standin.url}/services/oauth2/token", verify=str(standin.ca_bundle),
                             data={"grant_type": "client_credentials", "client_id": standin.client_id,
                                   "client_secret": "wrong"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


def test_query_pages_with_next_records_url(standin, small_org):
    sf = login(standin)
    first = sf.query("SELECT Id, SBQQ__NetPrice__c FROM SBQQ__Subscription__c ORDER BY Id")
    assert first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/")
    records = sf.query_all("SELECT Id, SBQQ__NetPrice__c FROM SBQQ__Subscription__c ORDER BY Id")["records"]
    expected = sorted(snapshot_lines(small_org, include_deleted=False), key=lambda r: r["Id"])
    assert [r["Id"] for r in records] == [r["Id"] for r in expected]
    assert [r["SBQQ__NetPrice__c"] for r in records] == [r["SBQQ__NetPrice__c"] for r in expected]
    assert all(isinstance(r["SBQQ__NetPrice__c"], Decimal) for r in records)


def test_query_all_includes_deleted_records(standin, small_org):
    sf = login(standin)
    everything = sf.query_all("SELECT Id, IsDeleted FROM SBQQ__Subscription__c", include_deleted=True)["records"]
    assert len(everything) == len(snapshot_lines(small_org, include_deleted=True))
    assert any(r["IsDeleted"] for r in everything)


def test_count_and_sum_equal_the_snapshots_own_figures(standin, small_org):
    sf = login(standin)
    lines = snapshot_lines(small_org, include_deleted=False)
    assert sf.query("SELECT COUNT() FROM SBQQ__Subscription__c WHERE IsDeleted = false")["totalSize"] == len(lines)
    sums = sf.query("SELECT SUM(SBQQ__Quantity__c), SUM(SBQQ__NetPrice__c) FROM SBQQ__Subscription__c")["records"][0]
    assert sums["expr0"] == sum(r["SBQQ__Quantity__c"] for r in lines)
    assert sums["expr1"] == sum(r["SBQQ__NetPrice__c"] for r in lines)


def test_where_limit_and_order(standin, small_org):
    sf = login(standin)
    newest = sf.query("SELECT Id, SystemModstamp FROM Account ORDER BY SystemModstamp DESC LIMIT 3")["records"]
    expected = sorted(read_records(small_org, "Account"), key=lambda r: r["SystemModstamp"], reverse=True)
    expected = [r for r in expected if not r["IsDeleted"]][:3]
    assert [r["Id"] for r in newest] == [r["Id"] for r in expected]
    one = sf.query(f"SELECT Id FROM Account WHERE Id = '{expected[0]['Id']}'")["records"]
    assert [r["Id"] for r in one] == [expected[0]["Id"]]


def test_describe_lists_the_fields(standin):
    fields = {f["name"] for f in login(standin).Account.describe()["fields"]}
    assert {"Id", "Name", "ParentId", "Business_Unit__c", "IsDeleted", "SystemModstamp"} <= fields


def test_describe_after_edits_lists_the_fields_the_edited_and_new_records_brought(standin):
    org = standin.org
    lines = sorted(org.objects["SBQQ__Subscription__c"])
    before = set(org.describe_fields("SBQQ__Subscription__c"))
    org.apply_edits("SBQQ__Subscription__c", changes={lines[0]: {"Edited_Field__c": "x"}},
                    new=[{**org.objects["SBQQ__Subscription__c"][lines[1]], "Id": "a1Bnew000000001AAA",
                          "New_Field__c": "y"}], deletions=[lines[2]])
    after = org.describe_fields("SBQQ__Subscription__c")
    assert set(after) == before | {"Edited_Field__c", "New_Field__c"}
    # The same as describing an org that holds these records from the start.
    assert after == SalesforceOrg({"SBQQ__Subscription__c": list(org.objects["SBQQ__Subscription__c"].values())
                                   }).describe_fields("SBQQ__Subscription__c")
    names = {f["name"] for f in login(standin).SBQQ__Subscription__c.describe()["fields"]}
    assert {"Edited_Field__c", "New_Field__c"} <= names


@pytest.mark.parametrize("soql, error_code", [
    ("SELECT Id, NoSuchField__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM NoSuchObject__c", "INVALID_TYPE"),
])
def test_salesforce_shaped_query_errors(standin, soql, error_code):
    with pytest.raises(SalesforceMalformedRequest) as error:
        login(standin).query(soql)
    assert error.value.content[0]["errorCode"] == error_code
    if error_code == "INVALID_FIELD":
        assert "No such column 'NoSuchField__c' on entity 'Account'" in error.value.content[0]["message"]


def test_invalid_session(standin):
    sf = login(standin)
    standin.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as error:
        sf.query("SELECT Id FROM Account")
    assert error.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_fault_status_on_the_nth_matching_request(standin):
    sf = login(standin)
    standin.inject(Fault("status", nth=3, status=503, path_contains="/query"))
    first = sf.query("SELECT Id FROM SBQQ__Subscription__c")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    with pytest.raises(SalesforceGeneralError) as error:
        sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert error.value.status == 503
    third = sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert third["records"][0]["Id"] not in {r["Id"] for r in second["records"]}


def test_fault_rate_limit(standin):
    sf = login(standin)
    standin.inject(Fault("status", status=403))
    with pytest.raises(SalesforceRefusedRequest) as error:
        sf.query("SELECT Id FROM Account")
    assert error.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0


def test_fault_session_expires(standin):
    sf = login(standin)
    standin.inject(Fault("expire_session", nth=2))
    sf.query("SELECT COUNT() FROM Account")
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT COUNT() FROM Account")
    assert login(standin).query("SELECT COUNT() FROM Account")["totalSize"] > 0


def test_fault_slow_response(standin):
    sf = login(standin, timeout=0.5)
    standin.inject(Fault("slow", delay_seconds=1.5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.query("SELECT COUNT() FROM Account")


def test_fault_cut_response(standin):
    sf = login(standin)
    standin.inject(Fault("cut"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        sf.query("SELECT Id FROM Account")
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0


def test_fault_that_never_clears(standin):
    sf = login(standin)
    standin.inject(Fault("status", status=500, times=None))
    for _ in range(3):
        with pytest.raises(SalesforceGeneralError):
            sf.query("SELECT COUNT() FROM Account")


def test_bulk_2_query_job_pages_csv_by_locator(standin, small_org):
    sf = login(standin)
    pages = list(sf.bulk2.SBQQ__Subscription__c.query_all(
        "SELECT Id, SBQQ__NetPrice__c, IsDeleted FROM SBQQ__Subscription__c", max_records=500, wait=0.1))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    expected = snapshot_lines(small_org, include_deleted=True)
    assert len(pages) == -(-len(expected) // 500)
    assert sorted(r["Id"] for r in rows) == sorted(r["Id"] for r in expected)
    prices = {r["Id"]: r["SBQQ__NetPrice__c"] for r in rows}
    assert all(prices[r["Id"]] == str(r["SBQQ__NetPrice__c"]) for r in expected)


def test_bulk_query_excludes_deleted(standin, small_org):
    sf = login(standin)
    pages = list(sf.bulk2.SBQQ__Subscription__c.query("SELECT Id FROM SBQQ__Subscription__c", wait=0.1))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(rows) == len(snapshot_lines(small_org, include_deleted=False))


def test_edits_while_running_get_a_newer_modstamp(standin):
    sf = login(standin)
    lines = sf.query_all("SELECT Id, SBQQ__Quantity__c FROM SBQQ__Subscription__c ORDER BY Id")["records"]
    stamp = standin.org.apply_edits("SBQQ__Subscription__c",
                                    changes={lines[0]["Id"]: {"SBQQ__Quantity__c": Decimal("99.0")}},
                                    deletions=[lines[1]["Id"]])
    since = stamp.replace("+0000", "Z")
    changed = sf.query_all(f"SELECT Id, SBQQ__Quantity__c, IsDeleted FROM SBQQ__Subscription__c "
                           f"WHERE SystemModstamp >= {since}", include_deleted=True)["records"]
    assert {(r["Id"], r["SBQQ__Quantity__c"] if not r["IsDeleted"] else None) for r in changed} == {
        (lines[0]["Id"], Decimal("99.0")), (lines[1]["Id"], None)}
