"""API v1 for shops' daily revenue, over the viz-only login: every figure a published row, exact."""
from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from fastapi.testclient import TestClient

from revcert.money import loads_exact
from revcert.standins.shopify.server import ShopifyStore
from revcert.ui.app import create_app
from revcert.warehouse.schema import SHOP_DAY_AMOUNTS
from tests.airflow_harness import load_dag, run_shop_dag, viz_login
from tests.ui.exports import assert_csv_is_the_json, served_csv

pytestmark = pytest.mark.integration


def client_for(url: str) -> TestClient:
    viz = viz_login(url)
    return TestClient(create_app(lambda: viz))


@pytest.fixture(scope="module")
def client(certified_shops_url) -> TestClient:
    return client_for(certified_shops_url)


def get(client: TestClient, path: str, **params):
    response = client.get(path, params=params)
    return response, loads_exact(response.content)


def published_days(url: str, shop_id: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute("select * from viz.shop_daily_revenue where shop_id = %s order by day", [shop_id])
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor]


def test_shops_lists_every_published_shop_with_its_settings_and_certification(client, certified_shops_url):
    response, shops = get(client, "/api/v1/shops")
    assert response.status_code == 200
    with psycopg.connect(certified_shops_url) as conn:
        stored = {row[0]: row[1:] for row in conn.execute(
            "select shop_id, iana_timezone, currency, refund_attribution, certification_id from viz.shop")}
        spans = {row[0]: row[1:] for row in conn.execute(
            "select shop_id, min(day)::text, max(day)::text from viz.shop_daily_revenue group by shop_id")}
    assert [s["shop_id"] for s in shops] == sorted(stored) and len(shops) == 5
    for shop in shops:
        assert (shop["iana_timezone"], shop["currency"], shop["refund_attribution"], shop["certification_id"]) == \
            stored[shop["shop_id"]]
        assert (shop["first_day"], shop["last_day"]) == spans[shop["shop_id"]]
        assert shop["latest_status"] == "certified" and shop["latest_certification_id"] == shop["certification_id"]


def test_a_shops_days_are_the_published_rows_exactly(client, certified_shops_url):
    _, shops = get(client, "/api/v1/shops")
    shop_id = shops[0]["shop_id"]
    stored = published_days(certified_shops_url, shop_id)
    response, body = get(client, f"/api/v1/shops/{shop_id}/daily")
    assert response.status_code == 200 and body["shop"]["shop_id"] == shop_id
    assert len(body["days"]) == len(stored) > 30
    for served, row in zip(body["days"], stored):
        assert served["day"] == row["day"].isoformat()
        for amount in SHOP_DAY_AMOUNTS:
            assert isinstance(served[amount], str) and Decimal(served[amount]) == row[amount]
        assert (served["order_count"], served["refund_count"], served["currency"], served["certification_id"]) == \
            (row["order_count"], row["refund_count"], row["currency"], row["certification_id"])
    _, window = get(client, f"/api/v1/shops/{shop_id}/daily", **{"from": "2026-11-01", "to": "2026-11-07"})
    assert [d["day"] for d in window["days"]] == [f"2026-11-0{n}" for n in range(1, 8)]


def test_a_shops_days_download_as_csv_in_its_currency_with_its_certification(client, certified_shops_url):
    _, shops = get(client, "/api/v1/shops")
    shop = shops[-1]
    rows = assert_csv_is_the_json(client, f"/api/v1/shops/{shop['shop_id']}/daily", rows_of=lambda b: b["days"])
    stored = published_days(certified_shops_url, shop["shop_id"])
    assert [r["net_revenue"] for r in rows] == [str(row["net_revenue"]) for row in stored]
    preamble, _ = served_csv(client, f"/api/v1/shops/{shop['shop_id']}/daily")
    assert preamble[0].startswith(f"Certified daily revenue of shop {shop['shop_id']} ")
    assert shop["iana_timezone"] in preamble[0]
    assert preamble[1:3] == [f"currency: {shop['currency']}", f"certification: {shop['certification_id']}"]
    assert assert_csv_is_the_json(client, "/api/v1/shops") and len(shops) == 5


@pytest.mark.parametrize("path, params, status, message", [
    ("/api/v1/shops/1001/daily", {"from": "2026-02-30"}, 422, "valid date"),
    ("/api/v1/shops/1001/daily", {"from": "2026-11-07", "to": "2026-11-01"}, 422, "from 2026-11-07 is after to"),
    ("/api/v1/shops/abc/daily", {}, 422, "should match pattern"),
    ("/api/v1/shops/999999/daily", {}, 404, "no shop 999999"),
    ("/api/v1/certifications", {"pipeline": "other"}, 422, "certified_mrr"),
], ids=["impossible-date", "reversed", "not-an-id", "unknown-shop", "unknown-pipeline"])
def test_bad_requests_are_refused_with_a_message(client, path, params, status, message):
    response, _ = get(client, path, **params)
    assert response.status_code == status and message in response.text


def test_the_history_filters_by_pipeline_and_shop(client):
    _, mrr = get(client, "/api/v1/certifications", pipeline="certified_mrr")
    _, shop_records = get(client, "/api/v1/certifications", pipeline="shop_daily_revenue")
    _, one = get(client, "/api/v1/certifications", shop_id="1001")
    assert mrr == [] and {r["dag_id"] for r in shop_records} == {"shop_daily_revenue"}
    # The run's own record (scope '') and one per shop.
    assert sorted(r["scope"] for r in shop_records) == ["", "1001", "1002", "1003", "1004", "1005"]
    assert [r["scope"] for r in one] == ["1001"]
    assert {c["check_name"] for c in one[0]["checks"]} == {"completeness", "integrity", "independent_derivation",
                                                            "shadow_views"}


def test_the_openapi_document_has_the_shop_routes_with_decimal_strings(client):
    _, document = get(client, "/api/v1/openapi.json")
    assert {"/api/v1/shops", "/api/v1/shops/{shop_id}/daily"} <= set(document["paths"])
    assert document["components"]["schemas"]["ShopDayRow"]["properties"]["net_revenue"]["type"] == "string"


def test_a_failed_attempt_shows_beside_the_figures_it_left_in_place(monkeypatch, shops_after_certified_run,
                                                                    small_shops, slack, tmp_path, airflow_db):
    url = shops_after_certified_run
    store = ShopifyStore.from_snapshot(small_shops)
    revoked = list(store.shops)[2]
    shop_id = revoked.rsplit("/", 1)[1]
    before = published_days(url, shop_id)
    state, _ = run_shop_dag(load_dag("shop_daily_revenue"), monkeypatch, url, store, slack, tmp_path=tmp_path,
                            revoked=(revoked,))
    assert state == "failed"
    client = client_for(url)
    _, shops = get(client, "/api/v1/shops")
    shop = next(s for s in shops if s["shop_id"] == shop_id)
    assert shop["latest_status"] == "failed" and "Invalid API key or access token" in shop["latest_failure_summary"]
    assert shop["latest_certification_id"] > shop["certification_id"] == before[0]["certification_id"]
    _, body = get(client, f"/api/v1/shops/{shop_id}/daily")
    assert [Decimal(d["net_revenue"]) for d in body["days"]] == [row["net_revenue"] for row in before]
    _, history = get(client, "/api/v1/certifications", shop_id=shop_id)
    assert [r["status"] for r in history] == ["failed", "certified"]
    assert all(s["latest_status"] == "certified" for s in shops if s["shop_id"] != shop_id)


def test_reconciliation_runs_and_open_discrepancies_are_served_exactly_over_the_viz_login(
        shops_after_certified_run):
    """Two reconciliations recorded as the DAG records them: the first finds a day apart, the second finds it
    equal again; the API gives both runs with their rates and the discrepancy, closed, as stored."""
    from datetime import date

    from revcert.reconciliation.ledger import close_reconciliation, open_reconciliation, record_shop
    from revcert.reconciliation.shop_comparison import Comparison

    url = shops_after_certified_run
    day = date(2026, 11, 19)

    def reconcile(run_id: str, source: Decimal) -> int:
        with psycopg.connect(url) as conn:
            rid = open_reconciliation(conn, "shop_revenue_reconciliation", run_id, as_of_date=day, days=2,
                                      fraction=Decimal("0.05"), all_shops=False, seed=7, shops_active=5,
                                      shops_sampled=["1001"])
            record_shop(conn, rid, "1001", [
                Comparison("1001", day, "USD", source, Decimal("101.50"), None, ("5600000029964",)
                           if source != Decimal("101.50") else ()),
                Comparison("1001", date(2026, 11, 20), "USD", Decimal("0.00"), Decimal("0.00"))],
                orders_read=3, source_requests=2, source_cost=40)
            close_reconciliation(conn, rid)
        return rid

    first = reconcile("scheduled__1", Decimal("50.75"))
    client = client_for(url)
    response, open_now = get(client, "/api/v1/reconciliation/discrepancies")
    assert response.status_code == 200
    assert [(d["shop_id"], d["day"], d["source_net_revenue"], d["stored_net_revenue"], d["difference"],
             d["relative_difference"], d["differing_order_ids"], d["is_open"]) for d in open_now] == [
        ("1001", "2026-11-19", "50.75", "101.50", "-50.75", "-1.000000", ["5600000029964"], True)]
    second = reconcile("scheduled__2", Decimal("101.50"))
    _, runs = get(client, "/api/v1/reconciliation/runs")
    assert [(r["reconciliation_run_id"], r["status"], r["shop_days_compared"], r["discrepancies"],
             r["discrepancy_rate"], r["seed"], r["shops_sampled"]) for r in runs] == [
        (second, "clean", 2, 0, "0.000000", 7, 1), (first, "discrepancies", 2, 1, "0.500000", 7, 1)]
    assert get(client, "/api/v1/reconciliation/discrepancies")[1] == []
    _, every = get(client, "/api/v1/reconciliation/discrepancies", status="all", shop_id="1001")
    assert [(d["reconciliation_run_id"], d["closed_by_reconciliation_run_id"], d["is_open"]) for d in every] == [
        (first, second, False)]
    assert assert_csv_is_the_json(client, "/api/v1/reconciliation/runs")
    assert assert_csv_is_the_json(client, "/api/v1/reconciliation/discrepancies", status="all", shop_id="1001")
    assert client.get("/api/v1/reconciliation/discrepancies", params={"status": "shut"}).status_code == 422
    assert client.get("/api/v1/reconciliation/discrepancies", params={"shop_id": "1;drop"}).status_code == 422
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/reconciliation/runs", "/api/v1/reconciliation/discrepancies"} <= set(paths)
