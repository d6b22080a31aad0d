"""From a figure of the bridge to the customers behind it, one customer's timeline, lines and contracts, and the
raw versions of each record: through the API over the viz-only login, on a certified run's warehouse."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from fastapi.testclient import TestClient

from revcert.money import loads_exact
from revcert.ui.app import create_app
from revcert.warehouse.schema import MOVEMENTS
from tests.airflow_harness import viz_login
from tests.ui.exports import assert_csv_is_the_json

pytestmark = pytest.mark.integration

ORG = "https://acme.my.salesforce.com"


@pytest.fixture(scope="module")
def client(certified_warehouse_url) -> TestClient:
    viz = viz_login(certified_warehouse_url)
    return TestClient(create_app(lambda: viz, salesforce_org_url=lambda: ORG))


def get(client: TestClient, path: str, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return loads_exact(response.content)


def busiest_month(client: TestClient) -> dict:
    """A complete month of the bridge in which every movement happened in some business unit."""
    totals = get(client, "/api/v1/bridge")["totals"]
    return next(t for t in reversed(totals) if not t["is_partial"] and all(Decimal(t[m]) != 0 for m in MOVEMENTS))


def test_the_customers_behind_each_figure_add_up_to_it_to_the_cent(client):
    total = busiest_month(client)
    month = total["month"][:7]
    rows = get(client, "/api/v1/bridge", from_month=month, to_month=month)["rows"]
    for unit_row in rows:
        everyone = get(client, "/api/v1/movements", month=month, business_unit=unit_row["business_unit"])
        assert sum(Decimal(c["starting_mrr"]) for c in everyone) == Decimal(unit_row["starting_mrr"])
        assert sum(Decimal(c["ending_mrr"]) for c in everyone) == Decimal(unit_row["ending_mrr"])
        assert sum(Decimal(c["recognized_revenue"]) for c in everyone) == Decimal(unit_row["recognized_revenue"])
        assert sum(1 for c in everyone if Decimal(c["ending_mrr"]) > 0) == unit_row["active_customers"]
        active = get(client, "/api/v1/movements", month=month, business_unit=unit_row["business_unit"], active="true")
        assert len(active) == unit_row["active_customers"] and all(Decimal(c["ending_mrr"]) > 0 for c in active)
        moved = get(client, "/api/v1/movements", month=month, business_unit=unit_row["business_unit"],
                    movement="any")
        assert sum(Decimal(c["movement_amount"]) for c in moved) == Decimal(unit_row["net_new_mrr"])
        assert moved == [c for c in everyone if c["movement_type"] != "none"]
        assert active == [c for c in everyone if Decimal(c["ending_mrr"]) > 0]
        for movement in MOVEMENTS:
            customers = get(client, "/api/v1/movements", month=month, business_unit=unit_row["business_unit"],
                            movement=movement)
            assert {c["movement_type"] for c in customers} <= {movement}
            assert {c["business_unit"] for c in customers} <= {unit_row["business_unit"]}
            assert sum((Decimal(c["movement_amount"]) for c in customers), Decimal(0)) == Decimal(unit_row[movement])
            assert all(c["certification_id"] == unit_row["certification_id"] for c in customers)
    churned = get(client, "/api/v1/movements", month=month, movement="churn")
    assert churned and sum(Decimal(c["movement_amount"]) for c in churned) == Decimal(total["churn"])
    assert all(Decimal(c["ending_mrr"]) == 0 and Decimal(c["movement_amount"]) == -Decimal(c["starting_mrr"])
               for c in churned)


def test_the_customers_behind_a_figure_as_csv_are_the_json(client):
    month = busiest_month(client)["month"][:7]
    rows = assert_csv_is_the_json(client, "/api/v1/movements", month=month, movement="expansion")
    assert rows and all(r["movement_type"] == "expansion" and r["currency"] == "USD" for r in rows)


def test_a_figure_asked_wrongly_is_a_422_naming_the_parameter(client):
    for params, name in (({}, "month"), ({"month": "2026-13"}, "month"), ({"month": "2026-03", "movement": "up"},
                                                                        "movement"),
                         ({"month": "2026-03", "business_unit": "Atlantis"}, "business_unit")):
        response = client.get("/api/v1/movements", params=params)
        assert response.status_code == 422, params
        assert name in str(response.json()["detail"])


def test_a_customer_is_its_months_lines_and_contracts_and_its_lines_make_its_mrr(client, certified_warehouse_url):
    total = busiest_month(client)
    month = total["month"][:7]
    # A customer that renewed (more than one contract) and expanded: the chain and the lines both matter.
    expanded = get(client, "/api/v1/movements", month=month, movement="expansion")
    customers = [get(client, f"/api/v1/customers/{c['customer_id']}") for c in expanded[:15]]
    customer = max(customers, key=lambda c: (len(c["contracts"]), len(c["lines"])))
    with psycopg.connect(certified_warehouse_url) as conn:
        stored = conn.execute("select month, ending_mrr, movement_type from viz.customer_month where customer_id = %s "
                              "order by month", [customer["customer_id"]]).fetchall()
        account = conn.execute("select account_name, business_unit from staging.stg_account where account_id = %s",
                               [customer["customer_id"]]).fetchone()
    assert [(date.fromisoformat(m["month"]), Decimal(m["ending_mrr"]), m["movement_type"])
            for m in customer["months"]] == stored
    assert (customer["customer_name"], customer["business_unit"]) == (account[0], account[1] or "UNASSIGNED")
    assert customer["salesforce_url"] == f"{ORG}/{customer['customer_id']}"
    # Each month's ending MRR is the sum of the lines carrying MRR on its snapshot day.
    for month_row in customer["months"]:
        day = month_row["snapshot_date"]
        carried = sum((Decimal(line["line_mrr"]) for line in customer["lines"]
                       if line["service_start_date"] <= day <= line["mrr_end_date"]), Decimal(0))
        assert carried == Decimal(month_row["ending_mrr"]), month_row["month"]
    contract_ids = {c["contract_id"] for c in customer["contracts"]}
    assert {line["contract_id"] for line in customer["lines"]} <= contract_ids
    assert all(c["customer_id"] == customer["customer_id"] and c["salesforce_url"] == f"{ORG}/{c['contract_id']}"
               for c in customer["contracts"])
    renewals = [c for c in customer["contracts"] if c["renews_contract_ids"]]
    assert all(set(c["renews_contract_ids"]) <= contract_ids for c in renewals)


def test_each_record_behind_a_customer_has_its_raw_versions_and_no_other_record_is_served(client,
                                                                                        certified_warehouse_url):
    month = busiest_month(client)["month"][:7]
    customer_id = get(client, "/api/v1/movements", month=month, movement="new")[0]["customer_id"]
    customer = get(client, f"/api/v1/customers/{customer_id}")
    line = customer["lines"][0]
    versions = get(client, f"/api/v1/records/{line['subscription_line_id']}/versions")
    assert versions and all(v["object_name"] == "SBQQ__Subscription__c" and v["record"]["Id"] == line[
        "subscription_line_id"] for v in versions)
    assert [v["received_at"] for v in versions] == sorted(v["received_at"] for v in versions)
    # Amounts in the source's record travel as exact decimal text, never as a JSON number.
    assert isinstance(versions[-1]["record"]["SBQQ__NetPrice__c"], str)
    assert versions[-1]["salesforce_url"] == f"{ORG}/{line['subscription_line_id']}"
    account_versions = get(client, f"/api/v1/records/{customer_id}/versions")
    assert account_versions[0]["object_name"] == "Account" and account_versions[0]["extraction_mode"]
    with psycopg.connect(certified_warehouse_url) as conn:
        batches = defaultdict(int)
        for batch_id, in conn.execute("select batch_id from raw.salesforce_record where record_id = %s",
                                      [line["subscription_line_id"]]):
            batches[batch_id] += 1
        unpublished = conn.execute("select record_id from raw.salesforce_record where object_name = 'Opportunity' "
                                   "limit 1").fetchone()[0]
    assert sorted(v["batch_id"] for v in versions) == sorted(b for b, n in batches.items() for _ in range(n))
    assert client.get(f"/api/v1/records/{unpublished}/versions").status_code == 404
    assert client.get("/api/v1/customers/001NOSUCHCUSTOMER").status_code == 404


def test_the_page_login_reads_raw_only_through_the_published_records(certified_warehouse_url):
    with psycopg.connect(viz_login(certified_warehouse_url)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from raw.salesforce_record")
        conn.rollback()
        published = conn.execute("select customer_id from viz.customer_month limit 1").fetchone()[0]
        assert conn.execute("select count(*) from viz.record_versions(%s)", [published]).fetchone()[0] >= 1


def test_the_metrics_are_the_analytics_layer_and_agree_with_the_bridge_and_its_customers(client):
    metrics = get(client, "/api/v1/metrics")
    bridge = {t["month"]: t for t in get(client, "/api/v1/bridge")["totals"]}
    assert [m["month"] for m in metrics["totals"]] == sorted(bridge)
    for total in metrics["totals"]:
        published = bridge[total["month"]]
        assert Decimal(total["arr"]) == 12 * Decimal(published["ending_mrr"])
        assert total["active_customers"] == published["active_customers"]
        assert total["is_partial"] == published["is_partial"]
        assert total["certification_ids"] == [published["certification_id"]]
    month = busiest_month(client)["month"]
    total = next(t for t in metrics["totals"] if t["month"] == month)
    for movement, count in (("new", "new_customers"), ("expansion", "expansion_customers"),
                            ("contraction", "contraction_customers"), ("churn", "churned_customers"),
                            ("winback", "winback_customers")):
        assert len(get(client, "/api/v1/movements", month=month[:7], movement=movement)) == total[count] > 0
    # Monthly NRR from the bridge's own figures: (starting + expansion + contraction + churn) / starting.
    row = bridge[month]
    base = Decimal(row["starting_mrr"])
    kept = base + Decimal(row["expansion"]) + Decimal(row["contraction"]) + Decimal(row["churn"])
    assert Decimal(total["nrr_pct"]) == (kept * 100 / base).quantize(Decimal("0.1"))
    units = {r["business_unit"] for r in metrics["rows"]}
    one_unit = sorted(units)[0]
    only = get(client, "/api/v1/metrics", business_unit=one_unit)
    assert {r["business_unit"] for r in only["rows"]} == {one_unit} and only["totals"] == metrics["totals"]
    assert_csv_is_the_json(client, "/api/v1/metrics", rows_of=lambda body: body["rows"] + body["totals"],
                           from_month=month[:7], to_month=month[:7])
