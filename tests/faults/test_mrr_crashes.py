"""Kill -9 at every task boundary of certified_mrr and inside its transform and publish transactions
(test_shop_crashes.py does the same for shop_daily_revenue).

Each run is a child process (as `revcert run` starts one) killed with SIGKILL, as a lost worker dies: no
clean-up of its own runs. Then the next run starts. Until the publish commit, viz is byte for byte what
it was; after it, complete. The next run takes the warehouse over at once (Airflow says the dead holder's
run has ended; nobody waits out a heartbeat) and closes what the dead one left open; the last run
certifies, and no record or batch is left running.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from revcert.standins.slack import WEBHOOK_PATH
from tests.faults.checks import left_open, viz_fingerprint
from tests.faults.crashes import KILLED, WAREHOUSE_PASSWORD, ChildRuns, assert_kept_secret, records, takeovers

pytestmark = pytest.mark.integration

MRR_TASKS = ("migrate", "open_run", "extract", "stage", "observe_batch", "transform", "identity_check",
             "observe_figures", "certify", "publish")
LATEST_RUN_RECORD = ("select certification_id from certification.certification_run where dag_id = "
                     "'certified_mrr' and scope = '' order by certification_id desc limit 1")


@pytest.mark.timeout(1500)  # a dozen runs, each a process of its own; slow machines need room
def test_certified_mrr_survives_a_kill_anywhere(tiny_org: Path, tiny_org_warehouse, slack, tmp_path):
    url = tiny_org_warehouse
    org = SalesforceOrg.from_snapshot(tiny_org)
    line = next(r for r in org.objects["SBQQ__Subscription__c"].values() if not r["IsDeleted"]
                and r["SBQQ__EndDate__c"] and r["SBQQ__EndDate__c"] > "2026-11-21")
    org.apply_edits("SBQQ__Subscription__c", changes={line["Id"]: {
        "SBQQ__NetPrice__c": Decimal(str(line["SBQQ__NetPrice__c"])) + Decimal("1200.00")}})
    before = viz_fingerprint(url)
    with SalesforceStandIn(org, state_dir=tmp_path) as standin:
        runs = ChildRuns("certified_mrr", {"as_of": "2026-11-21", "full_extraction": False, "certify_only": False,
                                           "restate": False}, url,
                         {"AIRFLOW_CONN_SALESFORCE_DEFAULT": standin.airflow_connection(),
                          "AIRFLOW_CONN_SLACK_ONCALL": slack.airflow_connection()}, tmp_path)
        runs.kill_as_each_starts(MRR_TASKS, before)
        for task_id in ("transform", "publish"):
            assert runs.run_killed_inside(task_id, LATEST_RUN_RECORD) == KILLED
            assert viz_fingerprint(url) == before, f"killed inside {task_id}"
        assert runs.run(kill_at="close_run") == KILLED
        published_by_the_killed_run = records(url, "certified_mrr")[-1]
        with psycopg.connect(url) as conn:
            shown = {row[0] for row in conn.execute("select distinct certification_id from viz.mrr_bridge_total "
                                                    "where month = '2026-11-01'")}
        assert published_by_the_killed_run[2:] == ("certified", True) and viz_fingerprint(url) != before
        assert shown == {published_by_the_killed_run[0]}
        assert runs.run() == 0 and runs.outcome()["state"] == "success"
        secrets = [standin.client_secret, *standin.issued_tokens, WEBHOOK_PATH, WAREHOUSE_PASSWORD]
    assert len(secrets) > 4
    assert_kept_secret(secrets, runs.logs(), slack.texts)
    statuses = [status for _, _, status, _ in records(url, "certified_mrr")]
    # The baseline; runs killed as extract, stage, observe_batch, transform, identity_check, observe_figures and
    # certify started; killed as publish started (certified, never shown: closed as such); inside transform;
    # inside publish (certified, never shown); after publishing; the last run.
    assert statuses == ["certified"] + ["abandoned"] * 7 + ["certified", "abandoned"] + ["certified"] * 3
    with psycopg.connect(url) as conn:
        unpublished = conn.execute("select failure_summary from certification.certification_run "
                                   "where status = 'certified' and published_at is null").fetchall()
    assert len(unpublished) == 2
    assert all(summary.startswith("certified, not published: its run no longer") for summary, in unpublished)
    assert left_open(url) == []
    # Held the lease when killed: extract .. publish as each started, inside two tasks, after publishing.
    gone = takeovers(url, "certified_mrr")
    assert len(gone) == 11 and all(reason.startswith("its Airflow run has ended") for reason in gone), gone
    assert slack.texts[-1].startswith(":white_check_mark: Revenue certified")
