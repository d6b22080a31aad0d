"""The incident ledger: failed checks and reconciliation discrepancies open or update an incident per
fingerprint; a resolved one is history and the next occurrence opens another; checks are never suppressed."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import psycopg
import pytest

from revcert.certification.checks import integrity_result
from revcert.certification.record import CheckResult, open_certification, read_certification, record_check
from revcert.methodology.errors import Offence, RuleFailure
from revcert.monitoring.ledger import (
    IncidentRefused,
    absorb_reconciliations,
    acknowledge_incident,
    incident_runs,
    list_incidents,
    read_incident,
    record_certification_failures,
    resolve_incident,
)

pytestmark = pytest.mark.integration

TODAY = date(2026, 11, 22)


def failed_run(conn: psycopg.Connection, run_id: str):
    """A certified_mrr record whose integrity check found a renewal cycle and whose completeness failed."""
    certification_id = open_certification(conn, "certified_mrr", run_id, date(2026, 11, 21))
    record_check(conn, certification_id, integrity_result([RuleFailure(
        "renewal_cycle", "A3 a renewal chain must not loop", (Offence("800C1", "renews itself"),))]))
    record_check(conn, certification_id, CheckResult("completeness", False, "Contract: 41 live at the source, 40"))
    record_check(conn, certification_id, CheckResult("movement_identity", None, "not run: the mart was not built"))
    return read_certification(conn, certification_id)


def test_each_failed_check_is_an_incident_updated_by_every_run_until_resolved_and_never_suppressed(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        first = record_certification_failures(conn, failed_run(conn, "manual__1"), TODAY)
        again = record_certification_failures(conn, failed_run(conn, "manual__2"), TODAY)
        assert first == again and len(first) == 2
        completeness, cycle = (read_incident(conn, i) for i in first)
        assert (cycle.kind, cycle.rule, cycle.subject, cycle.severity) == ("certification", "integrity.renewal_cycle",
                                                                           "run", "failure")
        assert completeness.rule == "completeness" and "41 live at the source" in completeness.summary
        assert cycle.runs_affected == 2 and {r.outcome for r in incident_runs(conn, cycle.incident_id)} == {"failed"}
        # A resolution that says "expected" teaches monitoring's anomalies, never a failed check.
        resolve_incident(conn, cycle.incident_id, "chain fixed in Salesforce", "a.controller",
                         expected_until=date(2026, 12, 31))
        [_, later] = record_certification_failures(conn, failed_run(conn, "manual__3"), TODAY)
        reopened = read_incident(conn, later)
        assert later != cycle.incident_id and reopened.status == "open" and reopened.runs_affected == 1
        assert read_incident(conn, cycle.incident_id).runs_affected == 2


def test_acknowledging_keeps_an_incident_open_and_a_resolved_one_cannot_be_acknowledged(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        [_, cycle] = record_certification_failures(conn, failed_run(conn, "manual__1"), TODAY)
        acknowledged = acknowledge_incident(conn, cycle, "on.call")
        assert (acknowledged.status, acknowledged.acknowledged_by) == ("acknowledged", "on.call")
        resolve_incident(conn, cycle, "fixed", "on.call")
        with pytest.raises(IncidentRefused, match=f"incident {cycle} is already resolved"):
            acknowledge_incident(conn, cycle, "on.call")
        with pytest.raises(IncidentRefused, match="there is no incident 999"):
            resolve_incident(conn, 999, "why", "on.call")
        with pytest.raises(IncidentRefused, match="needs a note"):
            resolve_incident(conn, cycle, "  ", "on.call")
        assert [i.status for i in list_incidents(conn)] == ["open", "resolved"]


def test_an_acknowledgement_racing_a_resolution_does_not_reopen_the_incident(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        [_, cycle] = record_certification_failures(conn, failed_run(conn, "manual__1"), TODAY)
    with psycopg.connect(warehouse_url) as resolver, psycopg.connect(warehouse_url) as acknowledger:
        resolve_incident(resolver, cycle, "fixed", "a.controller")  # not yet committed: it holds the row
        with ThreadPoolExecutor(1) as pool:
            racing = pool.submit(acknowledge_incident, acknowledger, cycle, "on.call")
            time.sleep(1)
            assert not racing.done()  # waiting for the resolution's row lock
            resolver.commit()
            with pytest.raises(IncidentRefused, match=f"incident {cycle} is already resolved"):
                racing.result(timeout=30)
        acknowledger.rollback()
        assert read_incident(acknowledger, cycle).status == "resolved"


def reconciliation(conn: psycopg.Connection, run_id: str, days: dict[str, str]) -> int:
    """A reconciliation run that compared shop 1001's `days` (day -> match or discrepancy)."""
    run = conn.execute("insert into monitoring.reconciliation_run (dag_id, run_id, days, fraction, all_shops, seed, "
                       "shops_active, shops_sampled, status) values ('shop_revenue_reconciliation', %s, 7, 1, true, 1, "
                       "1, '{1001}', 'discrepancies') returning reconciliation_run_id", [run_id]).fetchone()[0]
    for day, status in days.items():
        conn.execute("insert into monitoring.reconciliation_result (reconciliation_run_id, shop_id, day, currency, "
                     "source_net_revenue, stored_net_revenue, difference, status) values (%s, '1001', %s, 'USD', "
                     "100.00, 90.00, 10.00, %s)", [run, day, status])
    return run


def test_the_reconciliation_discrepancies_of_a_shop_are_one_incident_resolved_when_the_source_agrees_again(
        warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        first = reconciliation(conn, "scheduled__1", {"2026-11-14": "discrepancy", "2026-11-15": "discrepancy"})
        absorb_reconciliations(conn, TODAY)
        absorb_reconciliations(conn, TODAY)
        [apart] = list_incidents(conn)
        assert (apart.kind, apart.scope, apart.severity, apart.status) == ("reconciliation", "1001", "discrepancy",
                                                                           "open")
        assert apart.summary == "2 published shop-day(s) apart from the source, 2026-11-14 to 2026-11-15"
        assert [(r.dag_id, r.run_id, r.outcome) for r in incident_runs(conn, apart.incident_id)] == [
            ("shop_revenue_reconciliation", "scheduled__1", "discrepancy")]
        later = reconciliation(conn, "scheduled__2", {"2026-11-14": "match", "2026-11-15": "match"})
        conn.execute("update monitoring.reconciliation_result set closed_by_reconciliation_run_id = %s where "
                     "reconciliation_run_id = %s", [later, first])
        absorb_reconciliations(conn, TODAY)
        closed = read_incident(conn, apart.incident_id)
    assert (closed.status, closed.resolved_by) == ("resolved", "reconciliation")
