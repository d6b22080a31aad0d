"""API v1 of the certified-revenue plugin: through FastAPI's TestClient over the viz-only login, and
through a real Airflow api-server for what only it decides (the login on every route)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import psycopg
import pytest
import requests
from fastapi.testclient import TestClient

from revcert.money import loads_exact
from revcert.ui.app import CONTENT_SECURITY_POLICY, create_app
from revcert.warehouse.schema import BRIDGE_AMOUNTS, BRIDGE_FIGURES
from tests.airflow_harness import ApiServer, viz_login
from tests.ui.exports import assert_csv_is_the_json, served_csv

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(certified_warehouse_url) -> TestClient:
    viz = viz_login(certified_warehouse_url)
    return TestClient(create_app(lambda: viz))


def get(client: TestClient, path: str, **params):
    response = client.get(path, params=params)
    return response, (loads_exact(response.content) if response.headers.get("content-type", "").startswith(
        "application/json") else None)


def published(url: str, table: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(f"select * from viz.{table} order by 1, 2")
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor]


def test_the_bridge_and_its_totals_equal_the_published_rows_figure_for_figure(client, certified_warehouse_url):
    response, body = get(client, "/api/v1/bridge")
    assert response.status_code == 200
    for served_rows, table in ((body["rows"], "mrr_bridge"), (body["totals"], "mrr_bridge_total")):
        stored_rows = published(certified_warehouse_url, table)
        assert len(served_rows) == len(stored_rows) > 0
        for served, stored in zip(served_rows, stored_rows):
            assert served["month"] == stored["month"].isoformat()
            for figure in BRIDGE_AMOUNTS:
                assert isinstance(served[figure], str) and Decimal(served[figure]) == stored[figure]
            assert served["active_customers"] == stored["active_customers"]
            assert served["currency"] == stored["currency"] == "USD"
            assert served["certification_id"] == stored["certification_id"]


def test_the_bridge_as_csv_is_the_published_rows_exactly_under_their_provenance(client, certified_warehouse_url):
    preamble, rows = served_csv(client, "/api/v1/bridge")
    units, totals = [r for r in rows if r["is_total"] == "false"], [r for r in rows if r["is_total"] == "true"]
    assert len(units) + len(totals) == len(rows)
    for served_rows, table in ((units, "mrr_bridge"), (totals, "mrr_bridge_total")):
        stored_rows = published(certified_warehouse_url, table)
        assert len(served_rows) == len(stored_rows) > 0
        for served, stored in zip(served_rows, stored_rows):
            assert (served["month"], served["business_unit"], served["certification_id"]) == (
                stored["month"].isoformat(), stored.get("business_unit", ""), str(stored["certification_id"]))
            assert {figure: served[figure] for figure in BRIDGE_AMOUNTS} == {
                figure: str(stored[figure]) for figure in BRIDGE_AMOUNTS}
    stored = published(certified_warehouse_url, "mrr_bridge")
    assert preamble[1:4] == [
        "currency: USD",
        "certification: " + ", ".join(str(i) for i in sorted({r["certification_id"] for r in stored})),
        "snapshot date: " + ", ".join(d.isoformat() for d in sorted({r["snapshot_date"] for r in stored}))]


@pytest.mark.parametrize("path, params", [
    ("/api/v1/months", {}),
    ("/api/v1/cohorts", {"from_month": "2024-01", "to_month": "2024-03"}),
    ("/api/v1/cohorts", {"business_unit": "EMEA"}),
    ("/api/v1/certifications", {}),
], ids=["months", "cohorts-total", "cohorts-unit", "certifications"])
def test_every_mrr_list_downloads_as_csv_with_the_jsons_rows(client, path, params):
    assert assert_csv_is_the_json(client, path, **params)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


@pytest.mark.parametrize("table, key", [("mrr_bridge", "rows"), ("mrr_bridge_total", "totals")])
def test_each_month_carries_its_exact_change_on_the_previous_month_and_whether_it_is_partial(
        client, certified_warehouse_url, table, key):
    """The KPIs' month-on-month change comes from the API, exact; a range's first month still has its change."""
    stored = {(r["month"], r.get("business_unit")): r for r in published(certified_warehouse_url, table)}
    _, body = get(client, "/api/v1/bridge", from_month="2025-06")
    served = body[key]
    assert served and min(r["month"] for r in served) == "2025-06-01"
    partial = []
    for row in served:
        month = date.fromisoformat(row["month"])
        this, before = stored[(month, row.get("business_unit"))], stored.get((previous_month(month),
                                                                            row.get("business_unit")))
        assert before is not None, row["month"]
        assert row["previous_month"] == before["month"].isoformat()
        for figure in ("ending_mrr", "recognized_revenue", "net_new_mrr"):
            assert Decimal(row[f"{figure}_change"]) == this[figure] - before[figure], figure
        assert row["active_customers_change"] == this["active_customers"] - before["active_customers"]
        for figure in ("ending_mrr", "recognized_revenue"):
            if before[figure] == 0:  # no percentage of nothing
                assert row[f"{figure}_change_pct"] is None, figure
                continue
            exact = 100 * (this[figure] - before[figure]) / before[figure]
            assert Decimal(row[f"{figure}_change_pct"]) == exact.quantize(Decimal("0.1"), ROUND_HALF_UP), figure
        if row["is_partial"]:
            partial.append(month)
    # The fixture's snapshot is 2026-11-21: November is the month so far, and only it.
    assert set(partial) == {date(2026, 11, 1)}
    _, everything = get(client, "/api/v1/bridge")
    first = everything[key][0]
    assert first["previous_month"] is None and first["ending_mrr_change"] is None and first["is_partial"] is False


def test_totals_are_published_rows_and_equal_the_units_exactly(client):
    _, everything = get(client, "/api/v1/bridge")
    for total in everything["totals"]:
        units = [r for r in everything["rows"] if r["month"] == total["month"]]
        for figure in BRIDGE_FIGURES:
            assert Decimal(str(total[figure])) == sum(Decimal(str(r[figure])) for r in units), figure


def test_filters_apply(client):
    _, everything = get(client, "/api/v1/bridge")
    unit = everything["rows"][0]["business_unit"]
    _, filtered = get(client, "/api/v1/bridge", business_unit=unit, from_month="2025-01", to_month="2025-06")
    assert filtered["rows"] and {r["business_unit"] for r in filtered["rows"]} == {unit}
    assert min(r["month"] for r in filtered["rows"]) >= "2025-01-01"
    assert max(r["month"] for r in filtered["rows"]) <= "2025-06-01"


@pytest.mark.parametrize("path, params, message", [
    ("/api/v1/bridge", {"from_month": "2026-13"}, "from_month must be a month as YYYY-MM"),
    ("/api/v1/bridge", {"from_month": "2026-05", "to_month": "2026-01"}, "from_month 2026-05 is after to_month"),
    ("/api/v1/bridge", {"business_unit": "x" * 256}, "at most 255 characters"),
    ("/api/v1/cohorts", {"to_month": "last month"}, "to_month must be a month as YYYY-MM"),
    ("/api/v1/certifications", {"limit": "0"}, "greater than or equal to 1"),
])
def test_bad_parameters_get_422_with_a_message(client, path, params, message):
    response, _ = get(client, path, **params)
    assert response.status_code == 422
    assert message in response.text


@pytest.mark.parametrize("path", ["/api/v1/bridge", "/api/v1/cohorts"])
@pytest.mark.parametrize("unit", ["NA'; drop table viz.mrr_bridge; --", "Zürich Ö", "X\"><img src=x>", "emea"])
def test_an_unknown_business_unit_is_a_422_naming_the_known_ones_never_sql(client, certified_warehouse_url, path,
                                                                          unit):
    """Not an empty answer, which would read as no revenue; the text stays a value (viz is untouched)."""
    response, body = get(client, path, business_unit=unit)
    assert response.status_code == 422
    [detail] = body["detail"]
    assert detail["loc"] == ["query", "business_unit"]
    with psycopg.connect(certified_warehouse_url) as conn:
        known = [r[0] for r in conn.execute("select distinct business_unit from viz.mrr_bridge order by 1")]
    assert len(known) >= 2
    assert detail["msg"] == f"business_unit {unit!r} has no published figures; the business units are: " \
        + ", ".join(known)
    response, body = get(client, path, business_unit=known[0])
    assert response.status_code == 200 and body


def test_months_cohorts_and_certification_history(client):
    _, months = get(client, "/api/v1/months")
    assert months and all(m["certification_id"] == months[-1]["certification_id"] for m in months)
    assert months[-1]["snapshot_date"] == "2026-11-21" and months[-1]["currency"] == "USD"
    _, cohorts = get(client, "/api/v1/cohorts", from_month="2024-01", to_month="2024-03")
    assert cohorts and all("2024-01-01" <= c["cohort_month"] <= "2024-03-01" for c in cohorts)
    first_months = [c for c in cohorts if c["months_since_cohort"] == 0]
    assert first_months and all(c["ending_mrr"] == c["cohort_starting_mrr"] and c["mrr_retention_pct"] == "100.0"
                                and c["active_customers"] <= c["cohort_customers"] for c in first_months)
    _, history = get(client, "/api/v1/certifications")
    assert history[0]["status"] == "certified" and history[0]["published_months"]
    assert {c["check_name"]: c["passed"] for c in history[0]["checks"]} == {
        "completeness": True, "integrity": True, "movement_identity": True, "detail_sums": True,
        "independent_derivation": True, "shadow_views": True}


def test_the_openapi_document_names_its_prefix_and_decimal_strings(client, certified_warehouse_url):
    _, document = get(client, "/api/v1/openapi.json")
    assert {"/api/v1/bridge", "/api/v1/months", "/api/v1/cohorts", "/api/v1/certifications"} <= set(document["paths"])
    assert document["servers"][0]["url"] == "/revcert"
    # Mounted elsewhere (Airflow under a path of its own), the document names where it is mounted.
    viz = viz_login(certified_warehouse_url)
    elsewhere = TestClient(create_app(lambda: viz), root_path="/airflow/revcert")
    assert elsewhere.get("/api/v1/openapi.json").json()["servers"][0]["url"] == "/airflow/revcert"
    schema = document["components"]["schemas"]["BridgeRow"]["properties"]
    assert schema["ending_mrr_change"]["anyOf"][0]["type"] == "string" and schema["is_partial"]["type"] == "boolean"
    assert document["components"]["schemas"]["BridgeRow"]["properties"]["ending_mrr"]["type"] == "string"
    assert "text/csv" in document["paths"]["/api/v1/bridge"]["get"]["responses"]["200"]["content"]
    assert {"json", "csv"} == set(next(p for p in document["paths"]["/api/v1/months"]["get"]["parameters"]
                                       if p["name"] == "format")["schema"]["enum"])


def test_every_response_carries_a_content_security_policy(client):
    for path in ("/", "/static/app.js", "/api/v1/months"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in \
            CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]


def test_the_viz_login_reads_viz_and_nothing_else(certified_warehouse_url):
    viz = viz_login(certified_warehouse_url)
    with psycopg.connect(viz) as conn:
        assert conn.execute("select count(*) from viz.mrr_bridge").fetchone()[0] > 0
        for view in ("customer_month", "customer_line", "customer_contract"):  # with their certification
            assert conn.execute(f"select count(certification_id) from viz.{view}").fetchone()[0] > 0, view
        for table in ("staging.stg_subscription_line", "mart.mart_mrr_bridge", "certification.certification_run",
                      "raw.salesforce_record"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {table} limit 1")
            conn.rollback()
        for role in ("postgres", "revcert_viz_reader"):
            if role == "revcert_viz_reader":
                conn.execute(f"set role {role}")  # its own group: harmless, still viz only
                conn.rollback()
            else:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"set role {role}")
                conn.rollback()


@pytest.fixture(scope="module")
def api(certified_warehouse_url, tmp_path_factory) -> Iterator[ApiServer]:
    with ApiServer(certified_warehouse_url, tmp_path_factory.mktemp("api") / "api-server.log") as server:
        yield server


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/static/echarts.min.js", "/api/v1/bridge",
                                  "/api/v1/months", "/api/v1/cohorts", "/api/v1/certifications",
                                  "/api/v1/openapi.json", "/api/v1/shops", "/api/v1/reconciliation/runs",
                                  "/api/v1/reconciliation/discrepancies"])
def test_every_route_in_airflow_refuses_an_anonymous_or_forged_request_and_serves_a_login(api, path):
    assert requests.get(f"{api.base_url}/revcert{path}", timeout=30).status_code == 401
    forged = requests.get(f"{api.base_url}/revcert{path}", headers={"Authorization": "Bearer not-a-real-token"},
                          timeout=30)
    assert forged.status_code in (401, 403)
    served = requests.get(f"{api.base_url}/revcert{path}", headers={"Authorization": f"Bearer {api.token()}"},
                          timeout=30)
    assert served.status_code == 200, served.text


def test_the_openapi_document_in_airflow_sends_try_it_to_the_plugins_prefix(api):
    """The server it names, joined with a path it documents, is a route the api-server answers."""
    headers = {"Authorization": f"Bearer {api.token()}"}
    document = requests.get(f"{api.base_url}/revcert/api/v1/openapi.json", headers=headers, timeout=30).json()
    server = document["servers"][0]["url"]
    assert server == "/revcert"
    response = requests.get(f"{api.base_url}{server}/api/v1/months", headers=headers, timeout=30)
    assert response.status_code == 200 and loads_exact(response.content)


def forged_tokens(real: str) -> dict[str, str]:
    """A real token's claims under `alg: none` with no signature, with its payload changed, and with its
    signature cut: each must be refused."""
    import base64
    import json

    def encode(part: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    header, payload, signature = real.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {"alg none": f"{encode({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
            "payload changed": f"{header}.{encode({**claims, 'sub': 'someone-else'})}.{signature}",
            "signature cut": f"{header}.{payload}.{signature[:-4]}"}


@pytest.mark.parametrize("path", ["/api/v1/bridge", "/api/v1/shops", "/api/v1/reconciliation/discrepancies"])
def test_a_tampered_or_unsigned_token_is_refused(api, path):
    for kind, token in forged_tokens(api.token()).items():
        response = requests.get(f"{api.base_url}/revcert{path}", headers={"Authorization": f"Bearer {token}"},
                                timeout=30)
        assert response.status_code in (401, 403), (kind, response.status_code, response.text[:200])


INJECTIONS = ["' or '1'='1", "1; drop table viz.mrr_bridge; --", "$$; select pg_sleep(5); $$", "%' union select "
              "current_user --", "2026-01\x00", "../../../etc/passwd", "<script>alert(1)</script>", "1e400", "NaN",
              "-1", "9" * 5000, "2026-13", "ＥＭＥＡ"]


def parameters_of_every_route(client: TestClient) -> list[tuple[str, str, str]]:
    """(path, parameter, where) for every parameter of every route the OpenAPI document declares."""
    document = client.get("/api/v1/openapi.json").json()
    return [(path, parameter["name"], parameter["in"]) for path, methods in document["paths"].items()
            for parameter in methods.get("get", {}).get("parameters", [])]


def test_injection_strings_in_every_parameter_of_every_route_are_values_never_sql(client, certified_warehouse_url):
    """Each is refused (422), not found (404) or answered as a value that matches nothing; never a 5xx,
    and viz is byte for byte the same afterwards."""
    from tests.faults.checks import viz_fingerprint

    before = viz_fingerprint(certified_warehouse_url)
    swept = parameters_of_every_route(client)
    assert len(swept) >= 12 and {p for _, p, _ in swept} >= {"from_month", "business_unit", "shop_id", "from", "to"}
    for path, name, where in swept:
        for text in INJECTIONS:
            if where == "path":
                response = client.get(path.replace("{" + name + "}", requests.utils.quote(text, safe="")))
            else:
                response = client.get(path.replace("{shop_id}", "1001"), params={name: text})
            assert response.status_code in (200, 404, 422), (path, name, text, response.status_code)
            if response.status_code == 200:
                assert response.json() in ([], {}) or name == "business_unit" or "rows" in response.json(), \
                    (path, name, text)
    assert viz_fingerprint(certified_warehouse_url) == before
