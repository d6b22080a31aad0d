"""API v1 of the certified-revenue plugin, through a real Airflow api-server with its auth manager."""
from __future__ import annotations

from decimal import Decimal
from typing import Iterator

import psycopg
import pytest
import requests

from revcert.money import loads_exact
from tests.airflow_harness import ApiServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(certified_warehouse_url, tmp_path_factory) -> Iterator[ApiServer]:
    with ApiServer(certified_warehouse_url, tmp_path_factory.mktemp("api") / "api-server.log") as server:
        yield server


@pytest.fixture(scope="module")
def token(api) -> str:
    return api.token()


def get(api: ApiServer, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{api.base_url}/revcert{path}", headers=headers, params=params, timeout=30)


def body(response: requests.Response):
    return loads_exact(response.content)


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/echarts.min.js", "/api/v1/bridge",
                                  "/api/v1/months", "/api/v1/cohorts", "/api/v1/certifications",
                                  "/api/v1/openapi.json"])
def test_every_route_refuses_an_anonymous_or_forged_request(api, path):
    assert get(api, path).status_code == 401
    assert get(api, path, token="not-a-real-token").status_code in (401, 403)


def test_the_bridge_equals_viz_mrr_bridge_figure_for_figure(api, token, certified_warehouse_url):
    response = get(api, "/api/v1/bridge", token)
    assert response.status_code == 200
    rows = body(response)["rows"]
    with psycopg.connect(certified_warehouse_url) as conn:
        cursor = conn.execute("select * from viz.mrr_bridge order by month, business_unit")
        names = [c.name for c in cursor.description]
        published = [dict(zip(names, row)) for row in cursor]
    assert len(rows) == len(published)
    for served, stored in zip(rows, published):
        assert served["month"] == stored["month"].isoformat() and served["business_unit"] == stored["business_unit"]
        for figure in ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr",
                       "recognized_revenue"):
            assert isinstance(served[figure], str) and Decimal(served[figure]) == stored[figure]
        assert served["active_customers"] == stored["active_customers"]
        assert served["certification_id"] == stored["certification_id"]


def test_totals_are_exact_sums_and_filters_apply(api, token):
    everything = body(get(api, "/api/v1/bridge", token))
    totals = {t["month"]: t for t in everything["totals"]}
    for month, total in totals.items():
        units = [r for r in everything["rows"] if r["month"] == month]
        assert Decimal(total["ending_mrr"]) == sum(Decimal(r["ending_mrr"]) for r in units)
        assert total["active_customers"] == sum(r["active_customers"] for r in units)
    unit = everything["rows"][0]["business_unit"]
    filtered = body(get(api, "/api/v1/bridge", token, business_unit=unit, from_month="2025-01",
                        to_month="2025-06"))["rows"]
    assert filtered and {r["business_unit"] for r in filtered} == {unit}
    assert min(r["month"] for r in filtered) >= "2025-01-01" and max(r["month"] for r in filtered) <= "2025-06-01"


@pytest.mark.parametrize("path, params, message", [
    ("/api/v1/bridge", {"from_month": "2026-13"}, "from_month must be a month as YYYY-MM"),
    ("/api/v1/bridge", {"from_month": "2026-05", "to_month": "2026-01"}, "from_month 2026-05 is after to_month"),
    ("/api/v1/bridge", {"business_unit": "NA'; drop table viz.mrr_bridge; --"}, "String should match pattern"),
    ("/api/v1/cohorts", {"to_month": "last month"}, "to_month must be a month as YYYY-MM"),
    ("/api/v1/certifications", {"limit": "0"}, "greater than or equal to 1"),
])
def test_bad_parameters_get_422_with_a_message(api, token, path, params, message):
    response = get(api, path, token, **params)
    assert response.status_code == 422
    assert message in response.text


def test_months_cohorts_and_certification_history(api, token):
    months = body(get(api, "/api/v1/months", token))
    assert months and all(m["certification_id"] == months[-1]["certification_id"] for m in months)
    assert months[-1]["snapshot_date"] == "2026-11-21"
    cohorts = body(get(api, "/api/v1/cohorts", token, from_month="2024-01", to_month="2024-03"))
    assert cohorts and all("2024-01-01" <= c["cohort_month"] <= "2024-03-01" for c in cohorts)
    first_months = [c for c in cohorts if c["months_since_cohort"] == 0]
    assert first_months and all(c["ending_mrr"] == c["cohort_starting_mrr"] and
                                c["active_customers"] == c["cohort_customers"] for c in first_months)
    history = body(get(api, "/api/v1/certifications", token))
    assert history[0]["status"] == "certified"
    assert {c["check_name"]: c["passed"] for c in history[0]["checks"]} == {
        "completeness": True, "integrity": True, "movement_identity": True, "independent_derivation": True}


def test_the_openapi_document(api, token):
    document = get(api, "/api/v1/openapi.json", token).json()
    assert {"/api/v1/bridge", "/api/v1/months", "/api/v1/cohorts", "/api/v1/certifications"} <= set(document["paths"])
    assert document["components"]["schemas"]["BridgeRow"]["properties"]["ending_mrr"]["type"] == "string"


def test_the_viz_reader_role_cannot_read_staging_or_mart(certified_warehouse_url):
    with psycopg.connect(certified_warehouse_url) as conn:
        conn.execute("set role revcert_viz_reader")
        assert conn.execute("select count(*) from viz.mrr_bridge").fetchone()[0] > 0
        for table in ("staging.stg_subscription_line", "mart.mart_mrr_bridge", "certification.certification_run"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
            conn.rollback()
            conn.execute("set role revcert_viz_reader")
