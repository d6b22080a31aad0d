"""The certified_mrr DAG end to end with dag.test: embedded PostgreSQL, the Salesforce stand-in,
a local Slack receiver, and Airflow's metadata database migrated for the tests."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

from revcert.certification.independent_derivation import derive_bridge, read_staging
from revcert.publishing.mrr_bridge import viz_hash
from revcert.settings import Settings
from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from revcert.standins.slack import SlackWebhookReceiver

pytestmark = pytest.mark.integration
AS_OF = date(2026, 11, 21)
BRIDGE_FIGURES = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr",
                  "recognized_revenue", "active_customers")


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags")).get_dag("certified_mrr")


@pytest.fixture
def slack() -> Iterator[SlackWebhookReceiver]:
    with SlackWebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def org(small_org: Path) -> SalesforceOrg:
    return SalesforceOrg.from_snapshot(small_org)


def run_dag(dag, monkeypatch, url: str, org: SalesforceOrg, slack: SlackWebhookReceiver, as_of: date = AS_OF,
            tmp_path: Path | None = None, **standin_options):
    """One dag.test run as of `as_of`; returns (run state, task states)."""
    with SalesforceStandIn(org, state_dir=tmp_path) as standin:
        for name, value in standin_options.items():
            setattr(standin, name, value)
        monkeypatch.setenv("AIRFLOW_CONN_REVCERT_WAREHOUSE", url)
        monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_DEFAULT", json.dumps({
            "conn_type": "http", "host": standin.url, "login": standin.client_id, "password": standin.client_secret,
            "extra": {"ca_bundle": str(standin.ca_bundle)}}))
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_ONCALL", json.dumps({"conn_type": "slackwebhook",
                                                                    "password": slack.url}))
        run = dag.test(logical_date=datetime.combine(as_of, time(6), tzinfo=timezone.utc))
    return str(run.state), {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def published(url: str) -> dict[tuple, dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute("select * from viz.mrr_bridge order by month, business_unit")
        names = [c.name for c in cursor.description]
        return {(row[0], row[1]): dict(zip(names, row)) for row in cursor}


def certification(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("select certification_id, status, figures_hash from certification.certification_run "
                            "order by certification_id desc limit 1").fetchone()


@pytest.fixture(scope="module")
def baseline(postgres_server, dag, small_org, tmp_path_factory) -> str:
    """A warehouse after one clean certified run as of AS_OF (a template for the fault runs)."""
    monkeypatch = pytest.MonkeyPatch()
    name = "certified_baseline"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template revcert_template").format(sql.Identifier(name)))
    url = postgres_server.url(name)
    with SlackWebhookReceiver() as receiver:
        state, tasks = run_dag(dag, monkeypatch, url, SalesforceOrg.from_snapshot(small_org), receiver,
                               tmp_path=tmp_path_factory.mktemp("standin"))
    monkeypatch.undo()
    assert state == "success", tasks
    return name


@pytest.fixture
def warehouse_after_baseline(postgres_server, baseline) -> str:
    name = f"after_baseline_{datetime.now().strftime('%H%M%S%f')}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(baseline)))
    return postgres_server.url(name)


def test_a_clean_run_certifies_and_publishes_what_the_derivation_gives(dag, monkeypatch, warehouse_url, org, slack,
                                                                       tmp_path):
    state, tasks = run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path)
    assert state == "success"
    assert set(tasks.values()) == {"success"} and len(tasks) == 8
    certification_id, status, figures_hash = certification(warehouse_url)
    assert status == "certified" and len(figures_hash) == 64
    with psycopg.connect(warehouse_url) as conn:
        checks = dict(conn.execute("select check_name, passed from certification.check_result "
                                   "where certification_id = %s", [certification_id]).fetchall())
        derived = derive_bridge(read_staging(conn), AS_OF, Settings().renewal_grace_days)
    assert checks == {"completeness": True, "integrity": True, "movement_identity": True,
                      "independent_derivation": True}
    rows = published(warehouse_url)
    assert set(rows) == set(derived)
    for key, row in rows.items():
        assert {f: row[f] for f in BRIDGE_FIGURES} == {f: getattr(derived[key], f) for f in BRIDGE_FIGURES}
        assert row["certification_id"] == certification_id
        assert row["churn"] <= 0 and row["contraction"] <= 0
    assert max(month for month, _ in rows) == date(2026, 11, 1)
    assert [t for t in slack.texts if t.startswith(":white_check_mark: Revenue certified")]


def assert_halted(url: str, before: str, state: str, tasks: dict, slack: SlackWebhookReceiver, *names: str) -> str:
    assert state == "failed"
    assert tasks["publish"] == "skipped"
    assert tasks["notify"] == "failed"
    with psycopg.connect(url) as conn:
        assert viz_hash(conn) == before
    pages = [t for t in slack.texts if t.startswith(":rotating_light:")]
    assert len(pages) == 1
    for name in names:
        assert name in pages[0]
    assert certification(url)[1] == "failed"
    assert "http://airflow.test:8080/dags/certified_mrr/runs/" in pages[0]
    return pages[0]


def viz_before(url: str) -> str:
    with psycopg.connect(url) as conn:
        return viz_hash(conn)


def test_a_source_count_one_higher_halts_publishing(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path):
    before = viz_before(warehouse_after_baseline)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path=tmp_path,
                           count_offsets={"Contract": 1})
    page = assert_halted(warehouse_after_baseline, before, state, tasks, slack, "completeness", "Contract")
    assert tasks["certify"] == "success" and tasks["transform"] == "success"
    assert "live record count" in page


def test_a_customer_with_negative_mrr_halts_publishing(dag, monkeypatch, warehouse_after_baseline, org, slack,
                                                       tmp_path):
    before = viz_before(warehouse_after_baseline)
    line = next(r for r in org.objects["SBQQ__Subscription__c"].values()
                if not r["IsDeleted"] and r["SBQQ__Quantity__c"] > 0 and r["SBQQ__EndDate__c"])
    org.apply_edits("SBQQ__Subscription__c", new=[{**line, "Id": "a1BNEGATIVEMRR0AAA",
                                                    "SBQQ__Quantity__c": -line["SBQQ__Quantity__c"] * 3,
                                                    "SBQQ__RevisedSubscription__c": line["Id"]}])
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path=tmp_path)
    page = assert_halted(warehouse_after_baseline, before, state, tasks, slack, "integrity", "negative_customer_mrr",
                         "a1BNEGATIVEMRR0AAA")
    assert tasks["transform"] == "failed"
    assert any(t.startswith(":x: Task `transform`") for t in slack.texts)
    assert "not run" in page


def test_a_renewal_cycle_halts_publishing(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path):
    before = viz_before(warehouse_after_baseline)
    contracts = [c for c in org.objects["Contract"].values() if not c["IsDeleted"]]
    by_opportunity = {c["SBQQ__Opportunity__c"]: c for c in contracts}
    predecessor = next(c for c in contracts if c["SBQQ__RenewalOpportunity__c"] in by_opportunity)
    successor = by_opportunity[predecessor["SBQQ__RenewalOpportunity__c"]]
    org.apply_edits("Contract", changes={successor["Id"]: {
        "SBQQ__RenewalOpportunity__c": predecessor["SBQQ__Opportunity__c"]}})
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path=tmp_path)
    assert_halted(warehouse_after_baseline, before, state, tasks, slack, "renewal_cycle", predecessor["Id"],
                  successor["Id"])


def test_a_missing_conversion_rate_halts_publishing(dag, monkeypatch, warehouse_after_baseline, org, slack,
                                                    tmp_path):
    before = viz_before(warehouse_after_baseline)
    rates = org.objects["DatedConversionRate"]
    for rate_id in [i for i, r in rates.items() if r["IsoCode"] == "EUR"]:
        del rates[rate_id]
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path=tmp_path)
    assert_halted(warehouse_after_baseline, before, state, tasks, slack, "missing_conversion_rate", "currency EUR")


def test_one_cent_altered_between_transform_and_certify_halts_publishing(dag, monkeypatch, warehouse_after_baseline,
                                                                         org, slack, tmp_path):
    from revcert.certification.gate import CertificationGateOperator

    before = viz_before(warehouse_after_baseline)
    certify = CertificationGateOperator.execute

    def alter_one_cent_then_certify(self, context):
        with psycopg.connect(warehouse_after_baseline) as conn:
            conn.execute("update mart.mart_mrr_bridge set ending_mrr = ending_mrr + 0.01 "
                         "where (month, business_unit) = (select month, business_unit from mart.mart_mrr_bridge "
                         "order by month desc, business_unit limit 1)")
        return certify(self, context)

    monkeypatch.setattr(CertificationGateOperator, "execute", alter_one_cent_then_certify)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path=tmp_path)
    page = assert_halted(warehouse_after_baseline, before, state, tasks, slack, "independent_derivation",
                         "2026-11", "ending_mrr")
    assert "-0.01" not in page and "0.01" in page


def test_rerunning_the_same_as_of_gives_the_same_rows_and_an_earlier_one_keeps_complete_months(
        dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path):
    first = published(warehouse_after_baseline)
    state, _ = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, tmp_path=tmp_path)
    assert state == "success"
    again = published(warehouse_after_baseline)
    assert set(again) == set(first)
    assert all({f: again[k][f] for f in (*BRIDGE_FIGURES, "snapshot_date")}
               == {f: first[k][f] for f in (*BRIDGE_FIGURES, "snapshot_date")} for k in first)
    second_certification = certification(warehouse_after_baseline)[0]

    state, _ = run_dag(dag, monkeypatch, warehouse_after_baseline, org, slack, as_of=date(2026, 10, 15),
                       tmp_path=tmp_path)
    assert state == "success"
    earlier = published(warehouse_after_baseline)
    third_certification = certification(warehouse_after_baseline)[0]
    october = [row for (month, _), row in earlier.items() if month == date(2026, 10, 1)]
    november = [row for (month, _), row in earlier.items() if month == date(2026, 11, 1)]
    september = [row for (month, _), row in earlier.items() if month == date(2026, 9, 1)]
    assert october and all(r["snapshot_date"] == date(2026, 10, 31) and r["certification_id"] == second_certification
                           for r in october)
    assert november and all(r["certification_id"] == second_certification for r in november)
    assert september and all(r["certification_id"] == third_certification for r in september)
    with psycopg.connect(warehouse_after_baseline) as conn:
        assert conn.execute("select count(*) = count(distinct (month, business_unit)) from viz.mrr_bridge"
                            ).fetchone()[0]
