"""The `revcert` command line, run as a person would type it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from revcert.cli import main
from revcert.standins.salesforce import server
from revcert.warehouse.lease import LeaseHolder, acquire_lease, read_lease

pytestmark = pytest.mark.integration


def run(small_org, warehouse_url, *extra: str, as_of: str = "2026-11-21") -> int:
    return main(["run", "--snapshot", str(small_org), "--database-url", warehouse_url, "--as-of", as_of, *extra])


def start_with(monkeypatch, change) -> None:
    original_start = server.SalesforceStandIn.start

    def start(self):
        change(self)
        return original_start(self)

    monkeypatch.setattr(server.SalesforceStandIn, "start", start)


def certifications(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select certification_id, run_id, as_of_date, status, published_at is not null "
                            "from certification.certification_run order by certification_id").fetchall()


@pytest.fixture(scope="module")
def cli_run(postgres_server, small_org, tmp_path_factory) -> tuple[str, str]:
    """One `revcert run` of the small org into a warehouse of its own: (warehouse, what it printed)."""
    import contextlib
    import io

    from tests.conftest import new_database

    url = new_database(postgres_server, "cli_run")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run(small_org, url) == 0
    return url, printed.getvalue()


@pytest.fixture
def warehouse_after_cli_run(postgres_server, cli_run) -> str:
    from tests.conftest import copy_database

    return copy_database(postgres_server, cli_run[0])


def test_run_prints_the_audit_and_the_certified_bridge_and_exits_zero(cli_run):
    out = cli_run[1]
    assert "\ncertified_mrr: success (certification 1, certified)\nExtraction audit, batch 1\n" in "\n" + out
    for name in ("Account", "Contract", "Opportunity", "Product2", "SBQQ__Subscription__c", "DatedConversionRate",
                 "CurrencyType"):
        assert f"\n{name} " in out
    assert "MISMATCH" not in out and "complete: every source count and control sum equals staging" in out
    totals = out.split("\nAll business units (USD)\n")[1].split("\n\n")[0].splitlines()[2:]
    last_twelve = [(2025, 12)] + [(2026, m) for m in range(1, 12)]
    assert [line[:7] for line in totals] == [f"{y}-{m:02d}" for y, m in last_twelve]
    assert "Certified by certification 1" in out


def test_run_exits_non_zero_and_shows_the_page_when_the_source_count_disagrees(warehouse_url, small_org, capsys,
                                                                                monkeypatch):
    start_with(monkeypatch, lambda standin: standin.count_offsets.update(Contract=1))
    assert run(small_org, warehouse_url) == 1
    out = capsys.readouterr().out
    assert ("certified_mrr: failed (certification 1, failed); certify failed, close_run failed, publish skipped"
            in out)
    assert "Revenue not certified: publishing halted" in out and "Contract live record count" in out
    assert "Nothing was published by this run" in out and "MISMATCH" in out


def test_an_as_of_date_years_back_certifies_a_record_of_its_own(warehouse_after_cli_run, small_org, capsys):
    """Issue 9, defect 1: restating last year runs every task and certifies as of that date."""
    assert run(small_org, warehouse_after_cli_run, as_of="2025-06-30") == 0
    out = capsys.readouterr().out
    assert "certified_mrr: success (certification 2, certified)" in out
    assert "No extraction batch" not in out
    records = certifications(warehouse_after_cli_run)
    assert [(r[2], r[3], r[4]) for r in records] == [(date(2026, 11, 21), "certified", True),
                                                      (date(2025, 6, 30), "certified", True)]
    with psycopg.connect(warehouse_after_cli_run) as conn:
        shown = dict(conn.execute("select month, certification_id from viz.mrr_bridge_total "
                                  "where month in ('2025-06-01', '2025-07-01')").fetchall())
    # June 2025 was complete in both runs (same snapshot date): the later certification shows it.
    assert shown == {date(2025, 6, 1): records[1][0], date(2025, 7, 1): records[0][0]}


def test_a_future_as_of_date_is_refused_before_anything_runs(warehouse_url, small_org, capsys):
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    with pytest.raises(SystemExit) as exit_:
        run(small_org, warehouse_url, as_of=tomorrow)
    assert exit_.value.code == 2
    assert f"as-of date {tomorrow} is later than today" in capsys.readouterr().err
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from certification.certification_run").fetchone()[0] == 0


def test_sigterm_while_waiting_for_the_lease_stops_cleanly(warehouse_url, small_org, tmp_path):
    """Issue 9, defects 3 and 7: the wait names the holder on the console; SIGTERM ends the run at once,
    gives back nothing it did not hold, and says what state it left."""
    acquire_lease(warehouse_url, LeaseHolder("a run of another team"))
    env = {**os.environ, "REVCERT_HOME": str(tmp_path / "home"), "AIRFLOW_HOME": str(tmp_path / "airflow")}
    process = subprocess.Popen([sys.executable, "-m", "revcert.cli", "run", "--snapshot", str(small_org),
                                "--database-url", warehouse_url, "--as-of", "2026-11-21"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 180
    while not any("Waiting for the warehouse" in line for line in lines):
        assert time.monotonic() < deadline and process.poll() is None, "".join(lines)
        lines.append(process.stdout.readline())
    assert "held by a run of another team since" in lines[-1]
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "stopped by SIGTERM before it held the warehouse; nothing was changed" in rest
    assert read_lease(warehouse_url).holder.name == "a run of another team"
    assert [(r[3], r[4]) for r in certifications(warehouse_url)] == [("abandoned", False)]


@pytest.mark.parametrize("argv, message", [
    (["run", "--as-of", "2026-02-30", "--snapshot", "."], "not a date (YYYY-MM-DD): '2026-02-30'"),
    (["run"], "one of the arguments --snapshot --salesforce-conn is required"),
    (["run", "--snapshot", "/no/such/org"], "no such directory: '/no/such/org'"),
    (["generate-org", "--out", "x", "--accounts", "0"], "must be a positive whole number"),
    (["db", "migrate", "--database-url", "not-a-url"], "not a PostgreSQL connection string"),
    (["ui", "--port", "70000"], "not a TCP port (1-65535): '70000'"),
    (["lease", "release"], "add --force"),
])
def test_bad_arguments_are_refused_with_a_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("REVCERT_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    # Refused before anything starts: no local warehouse was created for a command that never ran.
    assert not (tmp_path / "home").exists()


def test_an_unreachable_database_is_named_within_seconds(small_org, capsys):
    started = time.monotonic()
    assert main(["db", "migrate", "--database-url", "postgresql://nobody@127.0.0.1:9/revcert"]) == 1
    assert time.monotonic() - started < 15
    assert "cannot reach PostgreSQL at 127.0.0.1:9/revcert" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    ('{"Id": "001000000000001AAA", "Name": "Acme"}\n{"Id": \n', "Account.jsonl:2: not a JSON record"),
    ('{"Id": "001000000000001AAA", "Name": NaN}\n', "Account.jsonl:1: not a JSON record (NaN is not a JSON number"),
    ('{"Id": "001000000000001AAA"}\n{"Id": "001000000000001AAA"}\n', "duplicate Id (an Id names one record): "
                                                                      "001000000000001AAA"),
])
def test_a_bad_snapshot_is_refused_naming_the_line(tmp_path, warehouse_url, content, message, capsys):
    (tmp_path / "Account.jsonl").write_text(content)
    assert run(tmp_path, warehouse_url) == 1
    assert message in capsys.readouterr().err
    assert certifications(warehouse_url) == []


def test_lease_show_and_forced_release_are_recorded(warehouse_url, capsys):
    acquire_lease(warehouse_url, LeaseHolder("a stuck run"))
    assert main(["lease", "show", "--database-url", warehouse_url]) == 0
    assert "held by a stuck run since" in capsys.readouterr().out
    assert main(["lease", "release", "--force", "--reason", "its worker was lost", "--database-url",
                 warehouse_url]) == 0
    assert "released the warehouse from a stuck run" in capsys.readouterr().out
    assert read_lease(warehouse_url).holder is None
    with psycopg.connect(warehouse_url) as conn:
        event = conn.execute("select event, previous_holder, reason from certification.warehouse_lease_event "
                             "order by event_id desc limit 1").fetchone()
    assert event[0] == "force_released" and event[1] == "a stuck run" and "its worker was lost" in event[2]


def test_generate_org_if_missing_keeps_an_existing_org(tmp_path, capsys):
    assert main(["generate-org", "--out", str(tmp_path), "--accounts", "5"]) == 0
    first = (tmp_path / "SBQQ__Subscription__c.jsonl").read_bytes()
    assert main(["generate-org", "--out", str(tmp_path), "--accounts", "9", "--if-missing"]) == 0
    assert (tmp_path / "SBQQ__Subscription__c.jsonl").read_bytes() == first
    assert "org already at" in capsys.readouterr().out


def test_db_url_names_the_embedded_server_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVCERT_HOME", str(tmp_path))
    monkeypatch.delenv("REVCERT_DATABASE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_REVCERT_WAREHOUSE", raising=False)
    try:
        assert main(["db", "url"]) == 0
        assert capsys.readouterr().out.startswith("postgresql://postgres@127.0.0.1:")
    finally:
        assert main(["db", "stop"]) == 0
    assert Path(tmp_path / "pgdata" / "PG_VERSION").exists()


def test_db_viz_login_creates_a_login_that_reads_viz_only_with_the_password_from_the_settings(
        warehouse_url, monkeypatch, capsys):
    monkeypatch.setenv("REVCERT_VIZ_PASSWORD", "a page's own secret")
    assert main(["db", "viz-login", "page_reader", "--database-url", warehouse_url]) == 0
    assert "a page's own secret" not in capsys.readouterr().out
    with psycopg.connect(warehouse_url) as conn:
        has_password, = conn.execute("select rolpassword is not null from pg_authid where rolname = 'page_reader'"
                                     ).fetchone()
        reads = conn.execute("select has_schema_privilege('page_reader', 'viz', 'usage'), "
                             "has_table_privilege('page_reader', 'viz.shop_daily_revenue', 'select'), "
                             "has_schema_privilege('page_reader', 'staging', 'usage'), "
                             "has_table_privilege('page_reader', 'monitoring.reconciliation_result', 'select')"
                             ).fetchone()
    assert has_password and reads == (True, True, False, False)
