"""The `revcert` command line, run in-process as a person would type it."""
from __future__ import annotations

import pytest

from revcert.cli import main
from revcert.standins.salesforce.server import Fault

pytestmark = pytest.mark.integration


def test_run_prints_the_extraction_audit_and_exits_zero(warehouse_url, small_org, capsys):
    assert main(["run", "--snapshot", str(small_org), "--database-url", warehouse_url]) == 0
    out = capsys.readouterr().out
    assert "Extraction audit, batch 1" in out
    for name in ("Account", "Contract", "Opportunity", "Product2", "SBQQ__Subscription__c", "DatedConversionRate",
                 "CurrencyType"):
        assert f"\n{name} " in out
    assert "MISMATCH" not in out
    assert "complete: every source count and control sum equals staging" in out


def test_run_exits_non_zero_when_the_source_count_disagrees(warehouse_url, small_org, capsys, monkeypatch):
    from revcert.standins.salesforce import server

    original_start = server.SalesforceStandIn.start

    def start_with_a_lying_count(self):
        self.count_offsets["Contract"] = 1
        return original_start(self)

    monkeypatch.setattr(server.SalesforceStandIn, "start", start_with_a_lying_count)
    assert main(["run", "--snapshot", str(small_org), "--database-url", warehouse_url]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "INCOMPLETE" in out


def test_run_reports_an_extraction_failure_cleanly(warehouse_url, small_org, capsys, monkeypatch):
    from revcert.standins.salesforce import server

    original_start = server.SalesforceStandIn.start

    def start_broken(self):
        self.inject(Fault("status", status=500, times=None))
        return original_start(self)

    monkeypatch.setattr(server.SalesforceStandIn, "start", start_broken)
    monkeypatch.setenv("REVCERT_RETRY_ATTEMPTS", "2")
    assert main(["run", "--snapshot", str(small_org), "--database-url", warehouse_url]) == 2
    assert "extraction failed: Salesforce request failed after 2 attempts: HTTP 500" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["run", "--as-of", "2026-02-30", "--snapshot", "x"], "not a date (YYYY-MM-DD): '2026-02-30'"),
    (["run"], "one of the arguments --snapshot --salesforce-conn is required"),
    (["generate-org", "--out", "x", "--accounts", "0"], "must be a positive whole number"),
])
def test_bad_arguments_are_refused_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_generate_org_if_missing_keeps_an_existing_org(tmp_path, capsys):
    assert main(["generate-org", "--out", str(tmp_path), "--accounts", "5"]) == 0
    first = (tmp_path / "SBQQ__Subscription__c.jsonl").read_bytes()
    assert main(["generate-org", "--out", str(tmp_path), "--accounts", "9", "--if-missing"]) == 0
    assert (tmp_path / "SBQQ__Subscription__c.jsonl").read_bytes() == first
    assert "org already at" in capsys.readouterr().out
