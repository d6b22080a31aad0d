"""`revcert incident list|acknowledge|resolve`, run as a person would type it."""
from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from revcert.cli import main
from revcert.monitoring.ledger import RunOf, read_incident, record_occurrence
from revcert.orchestration.as_of import business_today

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger(warehouse_url) -> tuple[str, int, int]:
    """A warehouse whose ledger holds a hold on subscriptions and a warning on a shop: (url, hold, warning)."""
    with psycopg.connect(warehouse_url) as conn:
        hold = record_occurrence(conn, "anomaly", RunOf("certified_mrr", "manual__1"), scope="",
                                 rule="deleted_share", subject="SBQQ__Subscription__c", severity="hold",
                                 summary="deleted_share of SBQQ__Subscription__c: 0.4, usually 0", outcome="held",
                                 today=date(2026, 11, 22))
        warning = record_occurrence(conn, "anomaly", RunOf("shop_daily_revenue", "manual__2"), scope="1001",
                                    rule="shop_day_orders", subject="1001", severity="warning",
                                    summary="shop_day_orders of 1001 on 2026-11-20: 0, usually 300", outcome="warned",
                                    today=date(2026, 11, 22))
    return warehouse_url, hold.incident_id, warning.incident_id


def test_list_shows_the_ledger_open_first_and_filters_by_status(ledger, capsys):
    url, hold, warning = ledger
    assert main(["incident", "list", "--database-url", url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:8] == ["id", "status", "kind", "pipeline", "rule", "subject", "severity", "runs"]
    rows = [line.split() for line in table[2:]]
    assert [row[0] for row in rows] == [str(warning), str(hold)]
    assert rows[1][1:7] == ["open,", "holding", "anomaly", "certified_mrr", "deleted_share", "SBQQ__Subscription__c"]
    assert main(["incident", "list", "--status", "resolved", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == "no resolved incidents"


def test_acknowledge_then_resolve_as_expected_releases_the_hold(ledger, capsys):
    url, hold, _ = ledger
    assert main(["incident", "acknowledge", str(hold), "--by", "on.call", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == (f"incident {hold} acknowledged by on.call; it still holds its pipeline "
                                               "until it is released or resolved")
    until = business_today("UTC") + timedelta(days=40)
    assert main(["incident", "resolve", str(hold), "--note", "year-end clean-up of duplicate lines",
                 "--expected-until", until.isoformat(), "--by", "a.controller", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == (
        f"incident {hold} resolved by a.controller: year-end clean-up of duplicate lines; the same anomaly is "
        f"recorded, not held or paged, through {until}; it no longer holds its pipeline: the next run goes on")
    with psycopg.connect(url) as conn:
        resolved = read_incident(conn, hold)
    assert (resolved.status, resolved.is_holding, resolved.resolved_by, resolved.expected_until) == (
        "resolved", False, "a.controller", until)
    assert main(["incident", "list", "--status", "resolved", "--database-url", url]) == 0
    assert "year-end clean-up of duplicate lines; by a.controller; expected until" in capsys.readouterr().out


def test_what_the_ledger_refuses_exits_1_and_bad_arguments_exit_2(ledger, capsys):
    url, hold, _ = ledger
    assert main(["incident", "resolve", "999", "--note", "why", "--database-url", url]) == 1
    assert "there is no incident 999" in capsys.readouterr().err
    assert main(["incident", "resolve", str(hold), "--note", "done", "--database-url", url]) == 0
    assert main(["incident", "acknowledge", str(hold), "--database-url", url]) == 1
    assert f"incident {hold} is already resolved" in capsys.readouterr().err
    for argv, message in ((["resolve", str(hold), "--note", "x", "--expected-until", "2020-01-01"], "has passed"),
                          (["resolve", str(hold)], "--note"),
                          (["resolve", "twelve", "--note", "x"], "positive whole number"),
                          (["list", "--status", "closed"], "invalid choice")):
        with pytest.raises(SystemExit) as exited:
            main(["incident", *argv, "--database-url", url])
        assert exited.value.code == 2 and message in capsys.readouterr().err
