"""The `revcert` command line, run in-process as a person would type it."""
from __future__ import annotations

import pytest

from revcert.cli import main
from revcert.standins.salesforce import server
from revcert.standins.salesforce.server import Fault

pytestmark = pytest.mark.integration


def run(small_org, warehouse_url, *extra: str) -> int:
    return main(["run", "--snapshot", str(small_org), "--database-url", warehouse_url, "--as-of", "2026-11-21",
                 *extra])


def start_with(monkeypatch, change) -> None:
    original_start = server.SalesforceStandIn.start

    def start(self):
        change(self)
        return original_start(self)

    monkeypatch.setattr(server.SalesforceStandIn, "start", start)


def test_run_prints_the_audit_and_the_certified_bridge_and_exits_zero(warehouse_url, small_org, capsys):
    assert run(small_org, warehouse_url) == 0
    out = capsys.readouterr().out
    assert "\ncertified_mrr: success (certification 1)\nExtraction audit, batch 1\n" in "\n" + out
    for name in ("Account", "Contract", "Opportunity", "Product2", "SBQQ__Subscription__c", "DatedConversionRate",
                 "CurrencyType"):
        assert f"\n{name} " in out
    assert "MISMATCH" not in out and "complete: every source count and control sum equals staging" in out
    totals = out.split("\nAll business units\n")[1].split("\n\n")[0].splitlines()[2:]
    assert [line[:7] for line in totals] == [f"{y}-{m:02d}" for y, m in [(2025, 12)] + [(2026, m) for m in range(1, 12)]]
    assert "Certified by certification 1" in out


def test_run_exits_non_zero_and_shows_the_page_when_the_source_count_disagrees(warehouse_url, small_org, capsys,
                                                                                monkeypatch):
    start_with(monkeypatch, lambda standin: standin.count_offsets.update(Contract=1))
    assert run(small_org, warehouse_url) == 1
    out = capsys.readouterr().out
    assert "certified_mrr: failed (certification 1); notify failed, publish skipped" in out
    assert "Revenue not certified: publishing halted" in out and "Contract live record count" in out
    assert "Nothing was published by this run" in out and "MISMATCH" in out


def test_run_reports_an_extraction_failure(warehouse_url, small_org, capsys, monkeypatch):
    start_with(monkeypatch, lambda standin: standin.inject(Fault("status", status=500, times=None,
                                                                path_contains="/query")))
    monkeypatch.setenv("REVCERT_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("REVCERT_EXTRACT_RETRIES", "0")
    assert run(small_org, warehouse_url) == 1
    out = capsys.readouterr().out
    assert "extract failed" in out and "publish skipped" in out
    assert "Salesforce request failed after 2 attempts: HTTP 500" in out
    assert "completeness*: not run: the extraction did not finish" in out


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
