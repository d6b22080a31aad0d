"""What Slack says about monitoring: a hold's page (or a reminder when an earlier hold still holds), and the
findings riding on a run's one message; names are data, never markup."""
from __future__ import annotations

from datetime import date

from revcert.certification.record import Certification
from revcert.notifications.slack import hold_page, monitoring_lines

RUN_URL = "http://airflow.test:8080/dags/certified_mrr/runs/manual__1"


def held(certification_id: int, scope: str = "", why: str = "held before transform by incident 12") -> Certification:
    return Certification(certification_id=certification_id, dag_id="shop_daily_revenue" if scope else "certified_mrr",
                         run_id="manual__1", scope=scope, as_of_date=date(2026, 11, 21), status="failed",
                         is_certify_only=False, is_restatement=False, extraction_batch_id=3, figures_hash=None,
                         certified_at=None, published_at=None, closed_at=None, failure_summary=why,
                         published_months=None, withdrawn_months=None, overrides_used=[], row_counts=None, checks={})


HOLD = {"scope": "", "severity": "hold", "incident_id": 12, "suppression_note": None,
        "summary": "deleted_share of SBQQ__Subscription__c: 0.4, usually 0 (score 40.00 over 5 observations)"}
SUPPRESSED = {"scope": "", "severity": "warning", "incident_id": 9,
              "suppression_note": "suppressed by incident 9: quarter-end renewals (expected until 2026-12-31)",
              "summary": "new_accounts of Account: 80, usually 4 (score 15.20 over 20 observations)"}


def test_a_hold_pages_with_why_what_the_batch_showed_and_the_link():
    page = hold_page([held(7)], {7: [HOLD, SUPPRESSED]}, RUN_URL, tripped=True)
    assert page.splitlines() == [
        ":rotating_light: *Revenue run held before transform: nothing transformed or published.* Run `manual__1` of "
        "`certified_mrr`, as of 2026-11-21, certification 7.",
        "*Why:* held before transform by incident 12",
        "*Monitoring* (every finding is in the incident ledger: `revcert incident list`):",
        "• *hold*, incident 12: deleted_share of SBQQ__Subscription__c: 0.4, usually 0 (score 40.00 over 5 "
        "observations)",
        "• _suppressed_: new_accounts of Account: 80, usually 4 (score 15.20 over 20 observations); suppressed by "
        "incident 9: quarter-end renewals (expected until 2026-12-31)",
        f"*Run:* {RUN_URL}"]


def test_a_run_an_earlier_hold_still_holds_gets_a_reminder_not_a_page_and_shops_are_named():
    reminder = hold_page([held(7, "1001"), held(8, "1002")], {}, RUN_URL, tripped=False)
    assert reminder.startswith(":pause_button: *Shop revenue still held before transform (an earlier hold) for 2 "
                               "shop(s)")
    assert "*Shop 1001* (certification 7): held before transform by incident 12" in reminder
    assert "*Shop 1002* (certification 8)" in reminder and ":rotating_light:" not in reminder


def test_names_are_escaped_and_long_lists_are_cut():
    unit = {**HOLD, "severity": "warning", "summary": "ending_mrr_change of <!channel> & Co: -0.3"}
    lines = monitoring_lines([unit] * 12, [{"incident_id": 12, "scope": "1001", "summary": "orders <b>",
                                            "released_by": "<admin>"}])
    assert lines[1] == "• incident 12 shop 1001 (by &lt;admin&gt;): orders &lt;b&gt;"
    assert lines[3] == "• *warning*, incident 12: ending_mrr_change of &lt;!channel&gt; &amp; Co: -0.3"
    assert len(lines) == 2 + 1 + 10 + 1 and lines[-1] == "… and 2 more (monitoring.observation)."
    assert monitoring_lines([], []) == []
