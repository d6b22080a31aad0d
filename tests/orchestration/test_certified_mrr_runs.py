"""The certified_mrr DAG end to end with dag.test: embedded PostgreSQL, the Salesforce stand-in,
a local Slack receiver, and Airflow's metadata database migrated for the tests."""
from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from revcert.certification import independent_derivation
from revcert.certification.fingerprint import customer_detail_digests, detail_digests, published_hash
from revcert.certification.forked import forked
from revcert.certification.independent_derivation import derive_figures, read_staging
from revcert.settings import Settings
from revcert.sqlfiles import load_sql
from revcert.standins.salesforce.server import SalesforceOrg
from revcert.standins.slack import SlackWebhookReceiver
from revcert.warehouse.schema import BRIDGE_FIGURES, column_names, viz_mrr_bridge, viz_mrr_bridge_total
from tests.airflow_harness import AS_OF, load_certified_mrr_dag, run_dag

pytestmark = pytest.mark.integration


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


def published_customer_months(conn: psycopg.Connection) -> dict[tuple, str]:
    """Each published customer-month and the transaction that wrote it (unchanged while its row is)."""
    return {(month, customer): version for month, customer, version in conn.execute(
        "select month, customer_id, xmin::text from viz.customer_month_figures")}


def certification(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("select certification_id, status, figures_hash from certification.certification_run "
                            "order by certification_id desc limit 1").fetchone()


def test_a_clean_run_certifies_and_publishes_what_the_derivation_gives(dag, monkeypatch, warehouse_url, org, slack,
                                                                       tmp_path):
    # The certify task splits the derivation between two processes, as it would a large org's when set to.
    forks: list[str] = []
    monkeypatch.setenv("REVCERT_DERIVATION_PROCESSES", "2")
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 1)
    monkeypatch.setattr(independent_derivation, "forked", lambda work, name: forks.append(name) or forked(work, name))
    state, tasks = run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path)
    assert forks == ["the derivation's part 2 of 2"]
    assert state == "success"
    assert set(tasks.values()) == {"success"} and len(tasks) == 11
    certification_id, status, figures_hash = certification(warehouse_url)
    assert status == "certified" and len(figures_hash) == 64
    with psycopg.connect(warehouse_url) as conn:
        checks = dict(conn.execute("select check_name, passed from certification.check_result "
                                   "where certification_id = %s", [certification_id]).fetchall())
        derived = derive_figures(read_staging(conn), AS_OF, Settings().renewal_grace_days)
        totals = conn.execute("select count(*) from viz.mrr_bridge_total where certification_id = %s",
                              [certification_id]).fetchone()[0]
        cohorts = conn.execute("select count(*) from viz.cohort_retention_total where certification_id = %s",
                               [certification_id]).fetchone()[0]
    assert checks == {"completeness": True, "integrity": True, "movement_identity": True, "detail_sums": True,
                      "independent_derivation": True, "shadow_views": True}
    rows = published(warehouse_url)
    assert set(rows) == set(derived.bridge)
    for key, row in rows.items():
        assert {f: row[f] for f in BRIDGE_FIGURES} == {f: derived.bridge[key][f] for f in BRIDGE_FIGURES}
        assert row["certification_id"] == certification_id and row["currency"] == "USD"
        assert row["churn"] <= 0 and row["contraction"] <= 0
    assert totals == len(derived.bridge_total) and cohorts == len(derived.cohort_total)
    assert max(month for month, _ in rows) == date(2026, 11, 1)
    assert [t for t in slack.texts if t.startswith(":white_check_mark: Revenue certified")]


def assert_halted(url: str, before: str, state: str, tasks: dict, slack: SlackWebhookReceiver, *names: str) -> str:
    assert state == "failed"
    assert tasks["certify"] == "failed" and tasks["publish"] == "skipped" and tasks["close_run"] == "failed"
    with psycopg.connect(url) as conn:
        assert published_hash(conn) == before
    assert len(slack.texts) == 1, slack.texts
    pages = [t for t in slack.texts if t.startswith(":rotating_light:")]
    assert len(pages) == 1
    for name in names:
        assert name in pages[0]
    assert certification(url)[1] == "failed"
    assert "http://airflow.test:8080/dags/certified_mrr/runs/" in pages[0]
    return pages[0]


def viz_before(url: str) -> str:
    with psycopg.connect(url) as conn:
        return published_hash(conn)


def test_a_source_count_one_higher_halts_publishing(dag, monkeypatch, warehouse_after_certified_run, org, slack,
                                                    tmp_path):
    before = viz_before(warehouse_after_certified_run)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path,
                           count_offsets={"Contract": 1})
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "completeness", "Contract")
    assert tasks["transform"] == "success"
    assert "live record count" in page
    # The failed check is an incident of the ledger, with this run among its runs.
    with psycopg.connect(warehouse_after_certified_run) as conn:
        incidents = conn.execute("select kind, rule, status, runs_affected from viz.incident").fetchall()
    assert incidents == [("certification", "completeness", "open", 1)]


# Bad records (a negative customer, a renewal cycle, a missing rate, and many more) are the corpus in
# tests/faults/test_salesforce_bad_input.py.


def test_the_page_of_a_negative_customer_names_its_account_unit_and_org_link_and_advises_no_override(
        dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    line = next(r for r in org.objects["SBQQ__Subscription__c"].values()
                if not r["IsDeleted"] and r["SBQQ__Quantity__c"] > 0 and r["SBQQ__StartDate__c"]
                and r["SBQQ__StartDate__c"] <= "2026-11-01" and (r["SBQQ__EndDate__c"] or "9999") >= "2026-11-21")
    org.apply_edits("SBQQ__Subscription__c", new=[{
        **line, "Id": "a1BNEGATIVEMRR0AAA", "SBQQ__Quantity__c": -line["SBQQ__Quantity__c"] * 5,
        "SBQQ__RevisedSubscription__c": line["Id"]}])
    before = viz_before(warehouse_after_certified_run)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "negative_customer_mrr")
    failed, blocked = page.split("*Blocked*")[0], page.split("*Blocked*")[1].split("*Run:*")[0]
    assert "• *integrity*: negative_customer_mrr" in failed and "movement_identity" not in failed
    assert "*movement_identity* (blocked)" in blocked and "*independent_derivation* (blocked)" in blocked
    # The customer (the account of its chain's root) by name and business unit, linked into the org.
    offence = next(text for text in page.splitlines() if "a1BNEGATIVEMRR0AAA" in text)
    customer = org.objects["Account"][re.search(r"<https://127\.0\.0\.1:\d+/(\w+)\|\1>", offence).group(1)]
    assert offence.startswith(f"• `negative_customer_mrr` account *{customer['Name']}*, "
                              f"{customer['Business_Unit__c'] or 'UNASSIGNED'}, <https://127.0.0.1:"), offence
    advice = page.split("*Next:*")[1]
    assert "correct the amendment lines in Salesforce" in advice and "classification_overrides" not in advice


def test_one_cent_altered_between_transform_and_certify_halts_publishing(dag, monkeypatch,
                                                                         warehouse_after_certified_run, org, slack,
                                                                         tmp_path):
    from revcert.orchestration.gate import CertificationGateOperator

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
    # Both the derivation and the bridge's own customers disagree with the altered figure, by the same cent.
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "independent_derivation",
                         "detail_sums", "2026-11", "ending_mrr")
    assert "-0.01" not in page and "0.01" in page

    # Nothing of a build that failed its certification is carried into the next one.
    monkeypatch.setattr(CertificationGateOperator, "execute", certify)
    state, _ = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    status, whole_because, recomputed, customers, _, _ = mart_build_of_last_run(warehouse_after_certified_run)
    assert (state, status) == ("success", "certified") and recomputed == customers
    assert re.fullmatch(r"the mart's last build \(certification \d+\) is failed, not certified", whole_because)


def test_a_customer_name_altered_between_a_later_transform_and_certify_is_found_though_its_inputs_did_not_change(
        dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    from revcert.orchestration.gate import CertificationGateOperator

    before = viz_before(warehouse_after_certified_run)
    with psycopg.connect(warehouse_after_certified_run) as conn:
        proofs_before = conn.execute("select customer_id, inputs_digest, detail_digest, certification_id "
                                     "from certification.customer_detail_proof order by 1").fetchall()
    customer = proofs_before[len(proofs_before) // 2][0]
    certify = CertificationGateOperator.execute

    def rename_then_certify(self, context):
        with psycopg.connect(warehouse_after_certified_run) as conn:
            conn.execute("update mart.mart_customer_month set customer_name = 'Renamed by hand' "
                         "where customer_id = %s", [customer])
        return certify(self, context)

    monkeypatch.setattr(CertificationGateOperator, "execute", rename_then_certify)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    # Nothing changed at the source: the mart recomputed no customer, and check 4 compared only the one whose
    # rows are not its proof's; its digest differed, so its rows were read. No sum moved: only check 4 can see it.
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "independent_derivation",
                         "customer_name")
    assert "detail_sums" not in page
    _, whole_because, recomputed, _, _, _ = mart_build_of_last_run(warehouse_after_certified_run)
    assert (whole_because, recomputed) == (None, 0)
    with psycopg.connect(warehouse_after_certified_run) as conn:
        summary, discrepancies = conn.execute(
            "select summary, discrepancies from certification.check_result where check_name = "
            "'independent_derivation' order by certification_id desc limit 1").fetchone()
        # A failed check 4 records no proof and keeps every one it had.
        assert conn.execute("select customer_id, inputs_digest, detail_digest, certification_id "
                            "from certification.customer_detail_proof order by 1").fetchall() == proofs_before
    assert (f"; 1 of {len(proofs_before)} customers' detail compared, the others' inputs and rows those their last "
            "comparison found equal; the rows of 1 of them read and compared figure by figure") in summary
    assert {(d["customer_id"], d["figure"], d["actual"]) for d in discrepancies} == {
        (customer, "customer_name", "Renamed by hand")}


def test_proofs_that_cannot_be_read_or_recorded_cost_a_full_comparison_not_the_certification(
        dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    from revcert.orchestration.gate import CertificationGateOperator

    with psycopg.connect(warehouse_after_certified_run) as conn:
        proofs_before = conn.execute("select customer_id, inputs_digest, detail_digest, certification_id "
                                     "from certification.customer_detail_proof order by 1").fetchall()
    certify = CertificationGateOperator.execute

    def certify_without_the_proven_sums(self, context):
        with psycopg.connect(warehouse_after_certified_run) as conn:
            conn.execute("alter table certification.proven_sums rename to proven_sums_away")
        try:
            return certify(self, context)
        finally:
            with psycopg.connect(warehouse_after_certified_run) as conn:
                conn.execute("alter table certification.proven_sums_away rename to proven_sums")

    monkeypatch.setattr(CertificationGateOperator, "execute", certify_without_the_proven_sums)
    state, _ = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    status, whole_because, _, _, _, derivation_agreed = mart_build_of_last_run(warehouse_after_certified_run)
    # The build was incremental, but without its proofs check 4 compared every customer: certified all the same.
    assert (state, status, whole_because, derivation_agreed) == ("success", "certified", None, True)
    with psycopg.connect(warehouse_after_certified_run) as conn:
        summary = conn.execute("select summary from certification.check_result where check_name = "
                               "'independent_derivation' order by certification_id desc limit 1").fetchone()[0]
        # Its proofs could not be recorded either: the earlier ones stay, whole.
        assert conn.execute("select customer_id, inputs_digest, detail_digest, certification_id "
                            "from certification.customer_detail_proof order by 1").fetchall() == proofs_before
    assert f"; {len(proofs_before)} of {len(proofs_before)} customers' detail compared" in summary
    assert "its proofs could not be recorded (the next check 4 compares these customers again)" in summary
    assert "proven_sums" in summary


def recorded_published_detail(conn: psycopg.Connection) -> dict[str, tuple[bytes, str]]:
    """Each customer's published detail digest as recorded, and the transaction that wrote the record."""
    return {customer: (digest, version) for customer, digest, version in conn.execute(
        "select customer_id, detail_digest, xmin::text from viz.customer_detail_digest")}


def mart_detail_digests(conn: psycopg.Connection) -> dict[str, bytes]:
    with conn.transaction():
        return customer_detail_digests(detail_digests(conn))


def mart_build_of_last_run(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("select run.status, run.mart_whole_because, run.mart_customers_recomputed, "
                            "run.mart_customers, run.figures_hash, check4.passed "
                            "from certification.certification_run as run join certification.check_result as "
                            "check4 on check4.certification_id = run.certification_id and check4.check_name = "
                            "'independent_derivation' order by run.certification_id desc limit 1").fetchone()


def proved_by_last_run(conn: psycopg.Connection) -> set[str]:
    """The customers whose detail the last run's check 4 compared (their proofs are its)."""
    return {row[0] for row in conn.execute(
        "select customer_id from certification.customer_detail_proof where certification_id = "
        "(select max(certification_id) from certification.certification_run)")}


def test_a_later_run_of_the_day_recomputes_only_the_customers_changes_reach_and_certifies_what_a_full_run_gives(
        dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path):
    with psycopg.connect(warehouse_after_certified_run) as conn:
        (successor_opportunity, other_contract, *reached), = conn.execute(
            "select successor.opportunity_id, other.contract_id, chain.customer_id, other.customer_id "
            "from mart.mart_renewal_link as links "
            "join staging.stg_contract as successor on successor.contract_id = links.successor_contract_id "
            "join mart.mart_contract_customer as chain on chain.contract_id = links.successor_contract_id "
            "join mart.mart_contract_customer as other on other.customer_id <> chain.customer_id "
            "where links.is_linked_by_opportunity and not links.is_linked_by_contract "
            "order by 1, 2 limit 1").fetchall()
        account = conn.execute("select customer_id from mart.mart_customer where business_unit <> 'APAC' "
                               "order by 1 limit 1").fetchone()[0]
        line, line_customer = conn.execute("select subscription_line_id, customer_id from "
                                           "mart.mart_service_interval order by 1 desc limit 1").fetchone()
        published_before = published_customer_months(conn)
        recorded_before = recorded_published_detail(conn)
    net_price = org.objects["SBQQ__Subscription__c"][line]["SBQQ__NetPrice__c"]
    org.apply_edits("Opportunity", changes={successor_opportunity: {"SBQQ__RenewedContract__c": other_contract}})
    org.apply_edits("Account", changes={account: {Settings().business_unit_field: "APAC"}})
    org.apply_edits("SBQQ__Subscription__c", changes={line: {"SBQQ__NetPrice__c": net_price + 7}})

    state, _ = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    status, whole_because, recomputed, customers, incremental_hash, derivation_agreed = mart_build_of_last_run(
        warehouse_after_certified_run)
    assert (state, status, whole_because, derivation_agreed) == ("success", "certified", None, True)
    with psycopg.connect(warehouse_after_certified_run) as conn:
        scope = {row[0] for row in conn.execute("select customer_id from mart.mart_customer_scope")}
        compared_by_check_4 = proved_by_last_run(conn)
        sums_proven_by = conn.execute("select array_agg(certification_id) from certification.proven_sums").fetchone()[0]
        last_run = conn.execute("select max(certification_id) from certification.certification_run").fetchone()[0]
    assert {*reached, account, line_customer} <= scope and len(scope) == recomputed < customers / 4
    # Check 4 compared the detail of the customers the changes reach (by its own digests, not the mart's), and
    # took the others' proofs and their parts of the sums; the sums it compared are now the proven ones.
    assert {*reached, account, line_customer} <= compared_by_check_4 and len(compared_by_check_4) < customers / 4
    assert sums_proven_by == [last_run]
    # Publishing wrote again only customer-months that changed: all of customers in scope, the price among them.
    with psycopg.connect(warehouse_after_certified_run) as conn:
        published_after = published_customer_months(conn)
    rewritten = {key for key, version in published_after.items() if published_before.get(key) != version}
    assert {customer for _, customer in rewritten} <= scope and line_customer in {c for _, c in rewritten}
    # It compared only the detail of the customers whose certified digest was not the one recorded as published
    # (their records rewritten), and the record is again the mart's detail, customer by customer.
    with psycopg.connect(warehouse_after_certified_run) as conn:
        recorded_after = recorded_published_detail(conn)
        assert {c: digest for c, (digest, _) in recorded_after.items()} == mart_detail_digests(conn)
    compared_by_publishing = {c for c, record in recorded_after.items() if recorded_before.get(c) != record}
    assert line_customer in compared_by_publishing and compared_by_publishing <= scope

    state, _ = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path,
                       run_conf={"full_extraction": True})
    status, whole_because, recomputed, customers, whole_hash, _ = mart_build_of_last_run(
        warehouse_after_certified_run)
    assert (state, status, whole_because) == ("success", "certified",
                                              "the run re-extracted every object (full_extraction)")
    assert recomputed == customers and whole_hash == incremental_hash
    with psycopg.connect(warehouse_after_certified_run) as conn:
        assert len(proved_by_last_run(conn)) == customers
        # The whole build changed no customer's detail: publishing compared none and rewrote no record.
        assert recorded_published_detail(conn) == recorded_after


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


def test_a_crash_empties_the_mart_alone_and_the_next_run_rebuilds_it_whole(dag, monkeypatch, org, slack, tmp_path):
    """The MRR mart is unlogged (migration 0022): crash recovery empties it, build record and input digests with
    it, and leaves the published figures and the certification records as they were. A server of the test's
    own: a crash of the shared one would empty the marts other tests copy."""
    from revcert.warehouse import migrate
    from revcert.warehouse.embedded import EmbeddedPostgres
    from revcert.warehouse.schema import UNLOGGED_MART

    mrr_mart = [table.name for table in UNLOGGED_MART]
    server = EmbeddedPostgres(tmp_path / "crashing")
    server.start()
    try:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("create database warehouse")
        migrate.upgrade(server.url("warehouse"))
        state, _ = run_dag(dag, monkeypatch, server.url("warehouse"), org, slack, tmp_path=tmp_path)
        assert state == "success"
        first = published(server.url("warehouse"))
        with psycopg.connect(server.url("warehouse")) as conn:
            shown, runs = published_hash(conn), conn.execute(
                "select count(*) from certification.certification_run").fetchone()[0]
            assert conn.execute("select count(*) from mart.mart_customer_month").fetchone()[0] > 0

        server.stop(as_a_crash=True)
        server.start()
        url = server.url("warehouse")
        with psycopg.connect(url) as conn:
            assert {table: conn.execute(f"select count(*) from mart.{table}").fetchone()[0]
                    for table in mrr_mart} == dict.fromkeys(mrr_mart, 0)
            assert published_hash(conn) == shown
            assert conn.execute("select count(*) from certification.certification_run").fetchone()[0] == runs

        state, _ = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path)
        assert state == "success"
        with psycopg.connect(url) as conn:
            certification_id, whole_because, recomputed, customers, published_at = conn.execute(
                "select certification_id, mart_whole_because, mart_customers_recomputed, mart_customers, "
                "published_at from certification.certification_run order by certification_id desc limit 1").fetchone()
            compared = conn.execute(load_sql("certification", "detail_proofs_of_certification"),
                                    {"certification_id": certification_id}).fetchone()[0]
            with_detail = len(mart_detail_digests(conn))
        assert whole_because == ("no earlier build kept its customers' inputs (the first build, one from before "
                                 "input digests, or a crash emptied the mart)")
        assert recomputed == customers > 0
        # Check 4 compared every customer with detail (it had no mart to hold proofs to), and the run published.
        assert compared == with_detail > 0 and published_at is not None
        again = published(url)
        assert set(again) == set(first)
        assert all({f: again[k][f] for f in (*BRIDGE_FIGURES, "snapshot_date")}
                   == {f: first[k][f] for f in (*BRIDGE_FIGURES, "snapshot_date")} for k in first)
    finally:
        server.stop()


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
                           as_of=date(2026, 11, 20), run_conf={"certify_only": True})
    assert state == "success" and tasks["publish"] == "skipped" and tasks["certify"] == "success"
    assert certification(warehouse_after_certified_run)[1] == "certified"
    assert viz_before(warehouse_after_certified_run) == before
    assert any("certify-only run: nothing was published" in text for text in slack.texts)


def test_without_an_as_of_param_the_logical_date_decides(dag, monkeypatch, warehouse_url, org, slack, tmp_path):
    state, _ = run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path, as_of=None,
                       logical_date=datetime(2026, 9, 30, 18, tzinfo=timezone.utc))
    assert state == "success"
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select as_of_date from certification.certification_run").fetchone()[0] == date(2026, 9, 30)
        assert conn.execute("select max(snapshot_date) from viz.mrr_bridge").fetchone()[0] == date(2026, 9, 30)


def task_tries() -> dict[str, int]:
    """Each task's try number in the latest run of the tests' Airflow home."""
    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        run = session.query(DagRun).filter(DagRun.dag_id == "certified_mrr").order_by(DagRun.id.desc()).first()
        return {ti.task_id: ti.try_number for ti in run.get_task_instances(session=session)}
    finally:
        session.close()


def test_a_field_the_org_lacks_fails_at_once_and_pages_once(dag, monkeypatch, warehouse_after_certified_run, org,
                                                            slack, tmp_path):
    """Issue 9, defect 6: a configuration error is not retried; the one page names the field."""
    before = viz_before(warehouse_after_certified_run)
    monkeypatch.setenv("REVCERT_BUSINESS_UNIT_FIELD", "Region__c")
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path)
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "completeness")
    assert tasks["extract"] == "failed" and task_tries()["extract"] == 1
    assert "fields missing from the Salesforce org: Account.Region__c" in page


def test_a_source_that_stays_down_is_paged_once_naming_the_fault(dag, monkeypatch, warehouse_after_certified_run,
                                                                 org, slack, tmp_path):
    from revcert.standins.salesforce.server import Fault

    before = viz_before(warehouse_after_certified_run)
    monkeypatch.setenv("REVCERT_RETRY_ATTEMPTS", "2")
    # A transient fault is retried by the task too; once is enough to see the page.
    monkeypatch.setattr(dag.get_task("extract"), "retries", 0)
    state, tasks = run_dag(dag, monkeypatch, warehouse_after_certified_run, org, slack, tmp_path=tmp_path,
                           faults=[Fault("status", status=500, times=None, path_contains="/query")])
    page = assert_halted(warehouse_after_certified_run, before, state, tasks, slack, "completeness")
    assert tasks["extract"] == "failed"
    assert "Salesforce request failed after 2 attempts: HTTP 500" in page and "(blocked)" in page


def test_a_restatement_withdraws_months_published_by_mistake(dag, monkeypatch, warehouse_after_certified_run, org,
                                                             slack, tmp_path):
    """Issue 9, defect 2: figures once published for a future as-of date (2027-03-31 typed for 2026) are
    not replaced by normal runs; a restatement replaces them and withdraws the months after its as-of month,
    and its certification record says so."""
    url = warehouse_after_certified_run
    with psycopg.connect(url) as conn:
        for table in ("mrr_bridge", "mrr_bridge_total", "cohort_retention", "cohort_retention_total"):
            conn.execute(f"update viz.{table} set snapshot_date = '2026-11-30' where month = '2026-11-01'")
        for table in (viz_mrr_bridge_total, viz_mrr_bridge):
            columns = [c for c in column_names(table) if c not in ("month", "snapshot_date")]
            conn.execute(f"insert into viz.{table.name} (month, snapshot_date, {', '.join(columns)}) "
                         f"select '2027-03-01', '2027-03-31', {', '.join(columns)} from viz.{table.name} "
                         "where month = '2026-11-01'")

    def shown() -> dict:
        with psycopg.connect(url) as conn:
            return dict(conn.execute("select month, snapshot_date from viz.mrr_bridge_total "
                                     "where month >= '2026-11-01'").fetchall())

    state, _ = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path)
    assert state == "success"
    assert shown() == {date(2026, 11, 1): date(2026, 11, 30), date(2027, 3, 1): date(2027, 3, 31)}

    state, _ = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path, run_conf={"restate": True})
    assert state == "success"
    assert shown() == {date(2026, 11, 1): date(2026, 11, 21)}
    with psycopg.connect(url) as conn:
        restated = conn.execute("select is_restatement, withdrawn_months, published_months from "
                                "certification.certification_run order by certification_id desc limit 1").fetchone()
        leftovers = conn.execute("select count(*) from viz.mrr_bridge where month > '2026-11-01'").fetchone()[0]
    assert restated[0] is True and restated[1] == ["2027-03-01"] and "2026-11-01" in restated[2]
    assert leftovers == 0
    assert any("withdrawn: 2027-03" in text for text in slack.texts)


def test_a_future_as_of_date_is_refused_by_the_trigger_and_the_task(dag, monkeypatch, warehouse_url, org, slack,
                                                                    tmp_path):
    from airflow.sdk.definitions.param import ParamValidationError

    future = date.today().replace(year=date.today().year + 1)
    with pytest.raises(ParamValidationError, match="revcert-not-future-date"):
        run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path, as_of=future)
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from certification.certification_run").fetchone()[0] == 0


def test_the_first_task_refuses_a_future_as_of_date_where_the_form_did_not(dag, monkeypatch, warehouse_url, org,
                                                                          slack, tmp_path):
    """A process that does not know the not-future format (an older plugin, another scheduler) lets the date
    through the form: open_run refuses it itself, records why, and nothing runs or is published."""
    from jsonschema import FormatChecker

    from revcert.orchestration import as_of

    monkeypatch.setattr(as_of, "register_not_future_format", lambda timezone: None)
    monkeypatch.delitem(FormatChecker.checkers, as_of.NOT_FUTURE)
    future = date.today().replace(year=date.today().year + 1)
    state, tasks = run_dag(dag, monkeypatch, warehouse_url, org, slack, tmp_path=tmp_path, as_of=future)
    assert state == "failed" and tasks["open_run"] == "failed"
    assert tasks["extract"] == tasks["transform"] == "upstream_failed" and tasks["publish"] != "success"
    with psycopg.connect(warehouse_url) as conn:
        [(status, as_of, why)] = conn.execute("select status, as_of_date, failure_summary from "
                                              "certification.certification_run").fetchall()
        published = conn.execute("select count(*) from viz.mrr_bridge").fetchone()[0]
    assert status == "abandoned" and as_of == future and why.startswith("refused: as-of date")
    assert "later than today" in why and published == 0


def test_figures_dated_after_today_are_never_published(warehouse_after_certified_run):
    """The last guard: publishing refuses a mart whose snapshot runs past today, certified or not."""
    from revcert.certification.fingerprint import figures_hash
    from revcert.publishing.mrr_bridge import UncertifiedFigures, publish_certified_figures

    with psycopg.connect(warehouse_after_certified_run) as conn:
        latest, certification_id = conn.execute(
            "select max(snapshot_date), max(certification_id) from viz.mrr_bridge_total").fetchone()
        before = conn.execute("select count(*), sum(ending_mrr) from viz.mrr_bridge_total").fetchone()
        with pytest.raises(UncertifiedFigures, match=f"the figures run to {latest}, after today"):
            publish_certified_figures(conn, certification_id, figures_hash(conn),
                                      latest_publishable=latest - timedelta(days=1))
        conn.rollback()
        assert conn.execute("select count(*), sum(ending_mrr) from viz.mrr_bridge_total").fetchone() == before


def latest_run_id() -> str:
    from airflow import settings
    from airflow.models.dagrun import DagRun

    session = settings.Session()
    try:
        return session.query(DagRun).filter(DagRun.dag_id == "certified_mrr").order_by(DagRun.id.desc()).first().run_id
    finally:
        session.close()


@pytest.mark.parametrize("holder_state", ["silent for five minutes, unknown to Airflow",
                                          "beating a second ago, its Airflow run ended"])
def test_a_run_gone_while_holding_the_warehouse_blocks_nothing(holder_state, dag, monkeypatch,
                                                               warehouse_after_certified_run, org, slack, tmp_path):
    """Issue 9 defect 3 and issue 17 defect 7: the next run takes the warehouse over at once (or after a
    minute's silence when nothing can vouch either way) and closes what the dead run left open."""
    url = warehouse_after_certified_run
    dead_run = "manual__dead" if holder_state.startswith("silent") else latest_run_id()
    with psycopg.connect(url) as conn:
        dead_certification = conn.execute(
            "insert into certification.certification_run (dag_id, run_id, scope, as_of_date, status, "
            "is_certify_only, is_restatement, overrides_used) values ('certified_mrr', %s, '', '2026-11-20', "
            "'running', false, false, '[]') on conflict (dag_id, run_id, scope) do update set status = 'running', "
            "published_at = null "
            "returning certification_id", [dead_run]).fetchone()[0]
        dead_batch = conn.execute("insert into raw.extraction_batch (source, mode, status) values ('salesforce', "
                                  "'incremental', 'running') returning batch_id").fetchone()[0]
        conn.execute("update certification.certification_run set extraction_batch_id = %s where certification_id = %s",
                     [dead_batch, dead_certification])
        silent = 300 if holder_state.startswith("silent") else 1
        conn.execute("update certification.warehouse_lease set holder = %s, holder_dag_id = 'certified_mrr', "
                     "holder_run_id = %s, certification_id = %s, acquired_at = now() - interval '1 hour', "
                     "heartbeat_at = now() - make_interval(secs => %s) where lease_name = 'certified_mrr'",
                     [f"certified_mrr/{dead_run}", dead_run, dead_certification, silent])
    started = time.monotonic()
    state, tasks = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path)
    assert state == "success", tasks
    assert time.monotonic() - started < 90
    with psycopg.connect(url) as conn:
        status, reason = conn.execute("select status, failure_summary from certification.certification_run "
                                      "where certification_id = %s", [dead_certification]).fetchone()
        batch_status = conn.execute("select status from raw.extraction_batch where batch_id = %s",
                                    [dead_batch]).fetchone()[0]
        event = conn.execute("select event, previous_holder from certification.warehouse_lease_event "
                             "where event = 'taken_over'").fetchone()
        lease = conn.execute("select holder from certification.warehouse_lease "
                             "where lease_name = 'certified_mrr'").fetchone()[0]
    assert status == "abandoned" and f"over from certified_mrr/{dead_run}" in reason
    assert batch_status == "abandoned"
    assert event == ("taken_over", f"certified_mrr/{dead_run}") and lease is None
