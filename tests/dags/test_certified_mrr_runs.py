"""The certified_mrr DAG end to end with dag.test: embedded PostgreSQL, the Salesforce stand-in,
a local Slack receiver, and Airflow's metadata database migrated for the tests."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from revcert.certification.independent_derivation import derive_bridge, read_staging
from revcert.publishing.mrr_bridge import viz_hash
from revcert.settings import Settings
from revcert.standins.salesforce.server import SalesforceOrg
from revcert.standins.slack import SlackWebhookReceiver
from tests.airflow_harness import AS_OF, load_certified_mrr_dag, run_dag

pytestmark = pytest.mark.integration
BRIDGE_FIGURES = ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr",
                  "recognized_revenue", "active_customers")


@pytest.fixture(scope="module")
def dag(airflow_db):
    return load_certified_mrr_dag()


@pytest.fixture
def org(small_org: Path) -> SalesforceOrg:
    return SalesforceOrg.from_snapshot(small_org)


def published(url: str) -> dict[tuple, dict]:
    with psycopg.connect(url) as conn:
        cursor = conn.execute("select * from viz.mrr_bridge order by month, business_unit")
        names = [c.name for c in cursor.description]
        return {(row[0], row[1]): dict(zip(names, row)) for row in cursor}


def certification(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("select certification_id, status, figures_hash from certification.certification_run "
                            "order by certification_id desc limit 1").fetchone()


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


def test_a_source_count_one_higher_halts_publishing(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    before = viz_before(warehouse_after_certified_run)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path,
                           count_offsets={"Contract": 1})
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "completeness", "Contract")
    assert tasks["certify"] == "success" and tasks["transform"] == "success"
    assert "live record count" in page


def test_a_customer_with_negative_mrr_halts_publishing(dag, monkeypatch, warehouse_after_certified_run, org, slack,
                                                       tmp_path):
    before = viz_before(warehouse_after_certified_run)
    line = next(r for r in org.objects["SBQQ__Subscription__c"].values()
                if not r["IsDeleted"] and r["SBQQ__Quantity__c"] > 0 and r["SBQQ__EndDate__c"])
    org.apply_edits("SBQQ__Subscription__c", new=[{**line, "Id": "a1BNEGATIVEMRR0AAA",
                                                    "SBQQ__Quantity__c": -line["SBQQ__Quantity__c"] * 3,
                                                    "SBQQ__RevisedSubscription__c": line["Id"]}])
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "integrity", "negative_customer_mrr",
                         "a1BNEGATIVEMRR0AAA")
    assert tasks["transform"] == "failed"
    assert any(t.startswith(":x: Task `transform`") for t in slack.texts)
    assert "not run" in page


def test_a_renewal_cycle_halts_publishing(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    before = viz_before(warehouse_after_certified_run)
    contracts = [c for c in org.objects["Contract"].values() if not c["IsDeleted"]]
    by_opportunity = {c["SBQQ__Opportunity__c"]: c for c in contracts}
    predecessor = next(c for c in contracts if c["SBQQ__RenewalOpportunity__c"] in by_opportunity)
    successor = by_opportunity[predecessor["SBQQ__RenewalOpportunity__c"]]
    org.apply_edits("Contract", changes={successor["Id"]: {
        "SBQQ__RenewalOpportunity__c": predecessor["SBQQ__Opportunity__c"]}})
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "renewal_cycle", predecessor["Id"],
                  successor["Id"])


def test_a_missing_conversion_rate_halts_publishing(dag, monkeypatch, warehouse_after_certified_run, org, slack,
                                                    tmp_path):
    before = viz_before(warehouse_after_certified_run)
    rates = org.objects["DatedConversionRate"]
    for rate_id in [i for i, r in rates.items() if r["IsoCode"] == "EUR"]:
        del rates[rate_id]
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "missing_conversion_rate", "currency EUR")


def test_one_cent_altered_between_transform_and_certify_halts_publishing(dag, monkeypatch, warehouse_after_certified_run,
                                                                         org, slack, tmp_path):
    from revcert.certification.gate import CertificationGateOperator

    before = viz_before(warehouse_after_certified_run)
    certify = CertificationGateOperator.execute

    def alter_one_cent_then_certify(self, context):
        with psycopg.connect(warehouse_after_certified_run) as conn:
            conn.execute("update mart.mart_mrr_bridge set ending_mrr = ending_mrr + 0.01 "
                         "where (month, business_unit) = (select month, business_unit from mart.mart_mrr_bridge "
                         "order by month desc, business_unit limit 1)")
        return certify(self, context)

    monkeypatch.setattr(CertificationGateOperator, "execute", alter_one_cent_then_certify)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "independent_derivation",
                         "2026-11", "ending_mrr")
    assert "-0.01" not in page and "0.01" in page


def test_rerunning_the_same_as_of_gives_the_same_rows_and_an_earlier_one_keeps_complete_months(
        dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    first = published(warehouse_after_certified_run)
    state, _ = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    assert state == "success"
    again = published(warehouse_after_certified_run)
    assert set(again) == set(first)
    assert all({f: again[k][f] for f in (*BRIDGE_FIGURES, "snapshot_date")}
               == {f: first[k][f] for f in (*BRIDGE_FIGURES, "snapshot_date")} for k in first)
    second_certification = certification(warehouse_after_certified_run)[0]

    state, _ = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, as_of=date(2026, 10, 15),
                       tmp_path=tmp_path)
    assert state == "success"
    earlier = published(warehouse_after_certified_run)
    third_certification = certification(warehouse_after_certified_run)[0]
    october = [row for (month, _), row in earlier.items() if month == date(2026, 10, 1)]
    november = [row for (month, _), row in earlier.items() if month == date(2026, 11, 1)]
    september = [row for (month, _), row in earlier.items() if month == date(2026, 9, 1)]
    assert october and all(r["snapshot_date"] == date(2026, 10, 31) and r["certification_id"] == second_certification
                           for r in october)
    assert november and all(r["certification_id"] == second_certification for r in november)
    assert september and all(r["certification_id"] == third_certification for r in september)
    with psycopg.connect(warehouse_after_certified_run) as conn:
        assert conn.execute("select count(*) = count(distinct (month, business_unit)) from viz.mrr_bridge"
                            ).fetchone()[0]


def test_a_bad_as_of_date_is_refused_before_any_task_runs(dag, monkeypatch, warehouse_url, org, slack, tmp_path):
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError, match="'2026-02-30' is not a 'date'"):
        run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path, run_conf={"as_of": "2026-02-30"})
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from certification.certification_run").fetchone()[0] == 0
        assert conn.execute("select count(*) from raw.extraction_batch").fetchone()[0] == 0


def test_certify_only_records_a_certification_and_publishes_nothing(dag, monkeypatch, warehouse_after_certified_run,
                                                                    org, slack, tmp_path):
    before = viz_before(warehouse_after_certified_run)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path,
                           as_of=date(2026, 11, 22), run_conf={"certify_only": True})
    assert state == "success" and tasks["publish"] == "skipped" and tasks["certify"] == "success"
    assert certification(warehouse_after_certified_run)[1] == "certified"
    assert viz_before(warehouse_after_certified_run) == before
    assert any("certify-only run: nothing was published" in text for text in slack.texts)


def test_the_as_of_param_overrides_the_logical_date(dag, monkeypatch, warehouse_url, org, slack, tmp_path):
    state, _ = run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path,
                       run_conf={"as_of": "2026-09-30"})
    assert state == "success"
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select as_of_date from certification.certification_run").fetchone()[0] == date(2026, 9, 30)
        assert conn.execute("select max(snapshot_date) from viz.mrr_bridge").fetchone()[0] == date(2026, 9, 30)
