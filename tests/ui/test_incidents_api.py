"""The incident ledger through API v1: listed and read over the viz-only login, acknowledged and resolved by an
operator through the ledger's own functions; and in a real api-server with the FAB auth manager and the two
roles of `revcert roles sync`, where a Finance viewer may read the incidents but not resolve one."""
from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
import requests
from fastapi.testclient import TestClient
from psycopg.rows import dict_row

from revcert.monitoring.ledger import (
    RunOf,
    incident_runs,
    read_incident,
    record_certification_failures,
    record_occurrence,
    resolve_incident,
)
from revcert.orchestration.as_of import business_today
from revcert.ui.app import create_app
from tests.airflow_harness import ApiServer, viz_login
from tests.monitoring.test_ledger import failed_run
from tests.ui.exports import assert_csv_is_the_json

pytestmark = pytest.mark.integration

TODAY = business_today("UTC")
OPERATOR = "on.call"


def seed_ledger(url: str) -> dict[str, int]:
    """A ledger of every kind and status: a hold and a warning (open), two failed checks of one certification
    record (one acknowledged), and three resolved anomalies: as expected through a later date (suppressing),
    as expected through a date now past, and not as expected."""
    with psycopg.connect(url) as conn:
        def anomaly(rule: str, subject: str, severity: str, run_id: str, dag_id: str = "certified_mrr",
                    scope: str = "") -> int:
            return record_occurrence(conn, "anomaly", RunOf(dag_id, run_id), scope=scope, rule=rule,
                                     subject=subject, severity=severity, outcome="held" if severity == "hold"
                                     else "warned", today=TODAY, summary=f"{rule} of {subject}: unusual").incident_id

        seeded = {"hold": anomaly("deleted_share", "SBQQ__Subscription__c", "hold", "manual__1"),
                  "warning": anomaly("shop_day_orders", "1001", "warning", "manual__2", "shop_daily_revenue", "1001")}
        anomaly("deleted_share", "SBQQ__Subscription__c", "hold", "manual__3")
        completeness, cycle = record_certification_failures(conn, failed_run(conn, "manual__4"), TODAY)
        seeded |= {"completeness": completeness, "cycle": cycle}
        conn.execute("update monitoring.incident set status = 'acknowledged', acknowledged_at = now(), "
                     "acknowledged_by = 'a.controller' where incident_id = %s", [cycle])
        for name, until in (("expected", TODAY + timedelta(days=30)), ("lapsed", TODAY - timedelta(days=1)),
                            ("fixed", None)):
            seeded[name] = anomaly("new_accounts", name, "warning", f"manual__{name}")
            resolve_incident(conn, seeded[name], f"quarter-end renewals <b>{name}</b>", "a.controller", until)
    return seeded


@pytest.fixture
def ledger_url(warehouse_url) -> tuple[str, dict[str, int]]:
    return warehouse_url, seed_ledger(warehouse_url)


def in_warehouse(url: str, incident_id: int) -> dict:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute("select * from monitoring.incident where incident_id = %s", [incident_id]).fetchone()


def client_of(url: str, **options) -> TestClient:
    viz = viz_login(url)
    return TestClient(create_app(lambda: viz, ledger_dsn=lambda: url, **options))


def test_the_list_is_the_ledger_unresolved_first_each_with_its_fingerprint_runs_and_suppression(ledger_url):
    url, seeded = ledger_url
    client = client_of(url)
    listed = client.get("/api/v1/incidents").json()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        stored = {row["incident_id"]: row for row in conn.execute(
            "select incident.*, (select count(*) from monitoring.incident_run as run where run.incident_id = "
            "incident.incident_id) as runs from monitoring.incident as incident")}
    assert sorted(i["incident_id"] for i in listed) == sorted(stored)
    assert [i["status"] for i in listed] == ["open"] * 3 + ["acknowledged"] + ["resolved"] * 3
    for served in listed:
        row = stored[served["incident_id"]]
        assert (served["fingerprint"], served["kind"], served["pipeline"], served["rule"], served["subject"],
                served["status"], served["runs_affected"], served["resolved_by"], served["resolution_note"]) == (
            row["fingerprint"], row["kind"], row["dag_id"], row["rule"], row["subject"], row["status"], row["runs"],
            row["resolved_by"], row["resolution_note"])
        assert served["first_seen_at"] == row["first_seen_at"].isoformat()
        assert re.search(r"[+-]\d\d:\d\d$", served["last_seen_at"])  # with its zone
    by_id = {i["incident_id"]: i for i in listed}
    assert by_id[seeded["hold"]]["runs_affected"] == 2 and by_id[seeded["hold"]]["is_holding"] is True
    assert by_id[seeded["cycle"]]["acknowledged_by"] == "a.controller"
    # Only a resolution as expected, still valid today, suppresses; the note is the person's text, kept as is.
    assert {name: by_id[seeded[name]]["suppression"] for name in ("expected", "lapsed", "fixed", "hold")} == {
        "expected": f"suppressed until {TODAY + timedelta(days=30)}: quarter-end renewals <b>expected</b>",
        "lapsed": None, "fixed": None, "hold": None}
    assert [i["incident_id"] for i in listed if i["is_suppressing"]] == [seeded["expected"]]


@pytest.mark.parametrize("status, expected", [
    ("open", ["open"] * 3), ("acknowledged", ["acknowledged"]), ("resolved", ["resolved"] * 3),
    ("all", ["open"] * 3 + ["acknowledged"] + ["resolved"] * 3)])
def test_the_list_filters_by_status_and_downloads_as_csv(ledger_url, status, expected):
    client = client_of(ledger_url[0])
    assert [i["status"] for i in client.get("/api/v1/incidents", params={"status": status}).json()] == expected
    assert len(assert_csv_is_the_json(client, "/api/v1/incidents", status=status)) == len(expected)


def test_one_incident_comes_with_the_runs_it_affected_and_their_certification_records(ledger_url):
    url, seeded = ledger_url
    client = client_of(url)
    detail = client.get(f"/api/v1/incidents/{seeded['completeness']}").json()
    with psycopg.connect(url) as conn:
        runs = incident_runs(conn, seeded["completeness"])
    assert detail["kind"] == "certification" and detail["summary"].startswith("certification ")
    assert [(r["pipeline"], r["run_id"], r["certification_id"], r["outcome"]) for r in detail["runs"]] == [
        (r.dag_id, r.run_id, r.certification_id, r.outcome) for r in runs] == [
        ("certified_mrr", "manual__4", runs[0].certification_id, "failed")]
    assert runs[0].certification_id is not None
    held = client.get(f"/api/v1/incidents/{seeded['hold']}").json()
    assert [r["run_id"] for r in held["runs"]] == ["manual__3", "manual__1"]
    assert client.get("/api/v1/incidents/999999").status_code == 404
    assert "there is no incident 999999" in client.get("/api/v1/incidents/999999").text
    for bad in ("twelve", "0", "-1", "9" * 40):
        assert client.get(f"/api/v1/incidents/{bad}").status_code == 422, bad
    assert client.get("/api/v1/incidents", params={"status": "closed"}).status_code == 422


def test_an_operator_acknowledges_then_resolves_as_expected_through_the_ledger(ledger_url):
    url, seeded = ledger_url
    client = client_of(url, operator=lambda: OPERATOR)
    hold = seeded["hold"]
    acknowledged = client.post(f"/api/v1/incidents/{hold}/acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    assert (acknowledged.json()["status"], in_warehouse(url, hold)["acknowledged_by"]) == ("acknowledged", OPERATOR)
    until = TODAY + timedelta(days=40)
    resolved = client.post(f"/api/v1/incidents/{hold}/resolve",
                           json={"note": "year-end clean-up of duplicate lines", "expected_until": until.isoformat()})
    assert resolved.status_code == 200, resolved.text
    stored = in_warehouse(url, hold)
    assert (stored["status"], stored["is_holding"], stored["resolved_by"], stored["resolution_note"],
            stored["expected_until"]) == ("resolved", False, OPERATOR, "year-end clean-up of duplicate lines", until)
    assert resolved.json()["suppression"] == f"suppressed until {until}: year-end clean-up of duplicate lines"
    # Resolved once: resolving or acknowledging again is a conflict, and changes nothing.
    again = client.post(f"/api/v1/incidents/{hold}/resolve", json={"note": "again"})
    assert again.status_code == 409 and f"incident {hold} is already resolved by {OPERATOR}" in again.text
    assert client.post(f"/api/v1/incidents/{hold}/acknowledge").status_code == 409
    assert in_warehouse(url, hold) == stored
    # Resolved without a date: not expected, so nothing is suppressed.
    plain = client.post(f"/api/v1/incidents/{seeded['warning']}/resolve", json={"note": "shop was closed"}).json()
    assert (plain["status"], plain["expected_until"], plain["is_suppressing"]) == ("resolved", None, False)


@pytest.mark.parametrize("body, status, message", [
    ({"note": ""}, 422, "at least 1 character"),
    ({"note": "   "}, 422, "a resolution needs a note"),
    ({}, 422, "note"),
    ({"note": "x", "expected_until": "next quarter"}, 422, "valid date"),
    ({"note": "x", "expected_until": "2020-01-01"}, 422, "expected_until 2020-01-01 has passed"),
], ids=["empty note", "blank note", "no note", "not a date", "date passed"])
def test_a_resolution_without_a_note_or_with_a_past_date_is_refused_and_changes_nothing(ledger_url, body, status,
                                                                                       message):
    url, seeded = ledger_url
    client = client_of(url, operator=lambda: OPERATOR)
    before = in_warehouse(url, seeded["hold"])
    response = client.post(f"/api/v1/incidents/{seeded['hold']}/resolve", json=body)
    assert response.status_code == status and message in response.text, response.text
    assert in_warehouse(url, seeded["hold"]) == before


def test_an_unknown_incident_is_404_and_without_an_operator_nothing_is_written(ledger_url):
    url, seeded = ledger_url
    operator_client = client_of(url, operator=lambda: OPERATOR)
    assert operator_client.post("/api/v1/incidents/999999/resolve", json={"note": "x"}).status_code == 404
    assert operator_client.post("/api/v1/incidents/999999/acknowledge").status_code == 404
    nobody = client_of(url)  # no operator dependency given: refused
    # The page's probe: whether to offer the forms at all.
    assert operator_client.get("/api/v1/permissions/incidents").status_code == 204
    assert nobody.get("/api/v1/permissions/incidents").status_code == 403
    before = in_warehouse(url, seeded["hold"])
    assert nobody.post(f"/api/v1/incidents/{seeded['hold']}/resolve", json={"note": "x"}).status_code == 403
    assert nobody.post(f"/api/v1/incidents/{seeded['hold']}/acknowledge").status_code == 403
    assert in_warehouse(url, seeded["hold"]) == before


def test_the_viz_login_cannot_write_the_ledger(ledger_url):
    """Reading goes through the viz login, which could not resolve an incident even if the app tried."""
    url, seeded = ledger_url
    with psycopg.connect(viz_login(url)) as conn:
        assert read_incident(conn, seeded["hold"]).status == "open"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            resolve_incident(conn, seeded["hold"], "not from here", "viz")


# -- A real api-server with the FAB auth manager and the production roles --------------------------------------

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
USERS = {"finance": ("Finance viewer", "finance-password-1"), "operator": ("Operator", "operator-password-1")}


@pytest.fixture(scope="module")
def fab_api(postgres_server, airflow_db, tmp_path_factory) -> Iterator[tuple[ApiServer, str, dict[str, int]]]:
    """The api-server logging people in with FAB, a Finance viewer and an Operator created by `revcert roles
    sync` and `airflow users create`, over a warehouse with a seeded ledger."""
    from tests.conftest import new_database

    url = new_database(postgres_server)
    seeded = seed_ledger(url)
    server = ApiServer(url, tmp_path_factory.mktemp("fab-api") / "api-server.log")
    server.env["AIRFLOW__CORE__AUTH_MANAGER"] = FAB

    def run(*argv: str) -> None:
        done = subprocess.run(argv, env=server.env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]

    run(sys.executable, "-m", "airflow", "fab-db", "migrate")
    run(sys.executable, "-c", "import sys; from revcert.cli import main; sys.exit(main(['roles', 'sync']))")
    for user, (role, password) in USERS.items():
        run(sys.executable, "-m", "airflow", "users", "create", "--username", user, "--password", password,
            "--role", role, "--email", f"{user}@example.com", "--firstname", user, "--lastname", "Test")
    with server:
        yield server, url, seeded


def as_user(api: ApiServer, user: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api.token(user, USERS[user][1])}"
    return session


def test_in_airflow_a_finance_viewer_reads_incidents_but_only_an_operator_resolves_one(fab_api):
    api, url, seeded = fab_api
    incidents = f"{api.base_url}/revcert/api/v1/incidents"
    hold = seeded["hold"]
    finance, operator = as_user(api, "finance"), as_user(api, "operator")
    assert requests.post(f"{incidents}/{hold}/resolve", json={"note": "x"}, timeout=30).status_code == 401
    listed = finance.get(incidents, timeout=30)
    assert listed.status_code == 200 and hold in [i["incident_id"] for i in listed.json()]
    for action, body in (("resolve", {"note": "not mine to decide"}), ("acknowledge", None)):
        refused = finance.post(f"{incidents}/{hold}/{action}", json=body, timeout=30)
        assert refused.status_code == 403, refused.text
    assert in_warehouse(url, hold)["status"] == "open"
    assert (finance.get(f"{api.base_url}/revcert/api/v1/permissions/incidents", timeout=30).status_code,
            operator.get(f"{api.base_url}/revcert/api/v1/permissions/incidents", timeout=30).status_code) == (403, 204)
    resolved = operator.post(f"{incidents}/{hold}/resolve", json={"note": "planned clean-up"}, timeout=30)
    assert resolved.status_code == 200, resolved.text
    stored = in_warehouse(url, hold)
    assert (stored["status"], stored["resolved_by"], stored["resolution_note"], stored["is_holding"]) == (
        "resolved", "operator", "planned clean-up", False)
    assert operator.post(f"{incidents}/{hold}/resolve", json={"note": "again"}, timeout=30).status_code == 409
