"""A hold for real (dag.test, the Salesforce stand-in, a local Slack receiver): a batch that deletes 40% of the
subscriptions stops certified_mrr before transform, pages once and publishes nothing; every run stops there
until an operator releases the hold with the DAG's `release_hold` param."""
from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from revcert.certification.fingerprint import published_hash
from revcert.standins.salesforce.server import SalesforceOrg
from tests.airflow_harness import load_certified_mrr_dag, run_dag
from tests.monitoring.history import plant_history

pytestmark = pytest.mark.integration

# Every param given every run: the DAG object is kept between the runs of this module.
NO_RELEASE = {"release_hold": []}


@pytest.fixture(scope="module")
def dag(airflow_db):
    return load_certified_mrr_dag()


def delete_whole_contracts(org: SalesforceOrg, share: float) -> int:
    """Delete every line of whole contracts until `share` of the live subscription lines are gone (whole
    contracts, so no customer is left with an amendment's negative line alone); returns how many."""
    by_contract: dict[str, list[str]] = {}
    for line in org.objects["SBQQ__Subscription__c"].values():
        if not line["IsDeleted"]:
            by_contract.setdefault(line["SBQQ__Contract__c"], []).append(line["Id"])
    live = sum(len(lines) for lines in by_contract.values())
    doomed: list[str] = []
    for contract in sorted(by_contract):
        if len(doomed) >= share * live:
            break
        doomed += by_contract[contract]
    org.apply_edits("SBQQ__Subscription__c", deletions=doomed)
    return len(doomed)


def incident(url: str, incident_id: int) -> dict:
    with psycopg.connect(url) as conn:
        cursor = conn.execute("select * from monitoring.incident where incident_id = %s", [incident_id])
        return dict(zip([c.name for c in cursor.description], cursor.fetchone()))


def test_a_batch_deleting_40_percent_of_subscriptions_holds_until_released(
        dag, monkeypatch, warehouse_after_certified_run, small_org: Path, slack, tmp_path):
    url = warehouse_after_certified_run
    # Earlier incremental batches deleted next to nothing; each business unit's MRR barely moved.
    plant_history(url, dag_id="certified_mrr", point="batch", metric="deleted_share",
                  subject="SBQQ__Subscription__c", values=["0", "0.0008", "0", "0.0004", "0"], batch_mode="incremental")
    with psycopg.connect(url) as conn:
        units = [row[0] for row in conn.execute("select distinct business_unit from viz.mrr_bridge")]
        before = published_hash(conn)
        built_by = conn.execute("select certification_id from mart.mart_build").fetchone()[0]
    for unit in units:
        plant_history(url, dag_id="certified_mrr", point="figures", metric="ending_mrr_change", subject=unit,
                      values=["0.001", "0", "-0.002", "0.0005", "0"])
    org = SalesforceOrg.from_snapshot(small_org)
    deleted = delete_whole_contracts(org, 0.4)

    state, tasks = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path, run_conf=NO_RELEASE)

    assert state == "failed"
    assert tasks["stage"] == "success" and tasks["observe_batch"] == "failed"
    assert tasks["transform"] == "upstream_failed" and tasks["publish"] == "skipped"
    assert tasks["certify"] == "failed" and tasks["close_run"] == "failed"
    with psycopg.connect(url) as conn:
        assert published_hash(conn) == before
        assert conn.execute("select certification_id from mart.mart_build").fetchone()[0] == built_by
        certification_id, status, why = conn.execute(
            "select certification_id, status, failure_summary from certification.certification_run "
            "order by certification_id desc limit 1").fetchone()
        [(incident_id, value, score, severity, thresholds)] = conn.execute(
            "select incident_id, value, score, severity, thresholds from monitoring.observation where "
            "certification_id = %s and metric = 'deleted_share' and subject = 'SBQQ__Subscription__c'",
            [certification_id]).fetchall()
    assert 0.39 <= value <= 0.45 and severity == "hold" and score >= 8, (deleted, value, score)
    assert thresholds["hold_score"] == 8 and thresholds["min_history"] == 5 and thresholds["set_by"] == "default"
    assert status == "failed" and why.startswith(f"held before transform by incident {incident_id} (deleted_share")
    assert f"release_hold = [{incident_id}]" in why and f"revcert incident resolve {incident_id}" in why
    held = incident(url, incident_id)
    assert (held["kind"], held["status"], held["severity"], held["is_holding"]) == ("anomaly", "open", "hold", True)
    # One page: the hold's. The gate does not page the held record again.
    [page] = slack.texts
    assert page.startswith(":rotating_light: *Revenue run held before transform: nothing transformed or published.*")
    assert f"release_hold = [{incident_id}]" in page and "deleted_share of SBQQ__Subscription__c" in page

    # The next run reads a quiet batch, yet the held deletions are in staging: it stops too, with a reminder.
    state, tasks = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path, run_conf=NO_RELEASE)
    assert state == "failed" and tasks["transform"] == "upstream_failed"
    assert len(slack.texts) == 2 and slack.texts[1].startswith(":pause_button: *Revenue run still held")
    assert f"incident {incident_id}" in slack.texts[1]
    with psycopg.connect(url) as conn:
        assert published_hash(conn) == before

    state, tasks = run_dag(dag, monkeypatch, url, org, slack, tmp_path=tmp_path,
                           run_conf={"release_hold": [incident_id]})
    assert state == "success", tasks
    released = incident(url, incident_id)
    assert (released["status"], released["is_holding"]) == ("resolved", False)
    assert released["resolution_note"].startswith("released by run ") and released["expected_until"] is None
    with psycopg.connect(url) as conn:
        assert published_hash(conn) != before
        outcomes = [row[0] for row in conn.execute("select outcome from monitoring.incident_run where "
                                                   "incident_id = %s order by seen_at", [incident_id])]
        warned = conn.execute("select count(*) from monitoring.observation where metric = 'ending_mrr_change' "
                              "and severity = 'warning' and run_id <> 'planted'").fetchone()[0]
    assert outcomes == ["held", "held", "released"]
    # One message for the released run: its certified notice, with the release and the MRR it moved.
    assert len(slack.texts) == 3
    notice = slack.texts[2]
    assert notice.startswith(":white_check_mark: Revenue certified")
    # Released by whoever triggered the run (dag.test's user here).
    assert f"• incident {incident_id} (by {released['resolved_by']}): deleted_share of" in notice
    assert "*Monitoring*" in notice
    assert warned >= 2 and notice.count("ending_mrr_change of ") == warned
