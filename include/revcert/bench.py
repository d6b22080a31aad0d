"""`revcert bench`: time and peak memory of each stage, on a generated org of a chosen size.

Every measured step runs in a process of its own, so its peak resident memory
is its own and not the benchmark's: org generation, one extraction per API
through the Salesforce stand-in (serving over HTTPS from another process), the
mart, the movement identity and the independent derivation. The mart's and the
identity's figures are the client's; the work happens in PostgreSQL.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from psycopg import sql

from revcert.warehouse.connection import connect
from revcert.warehouse.embedded import EmbeddedPostgres


@dataclass(frozen=True)
class StepFigures:
    step: str
    seconds: float
    peak_mib: float
    records: int | None = None

    @property
    def records_per_second(self) -> float | None:
        return self.records / self.seconds if self.records and self.seconds else None


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(*args: str) -> dict[str, Any]:
    """Run one measured step in a fresh interpreter; it prints its figures as one JSON line."""
    completed = subprocess.run([sys.executable, "-m", "revcert.bench", *args], capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark step {args[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _generate(out: str, lines: str) -> dict[str, Any]:
    from revcert.snapshots.salesforce_generator import OrgShape, generate_org

    started = time.monotonic()
    counts = generate_org(Path(out), OrgShape(lines=int(lines)))
    return {"seconds": time.monotonic() - started, "peak_mib": _peak_mib(), "records": counts["SBQQ__Subscription__c"]}


def _extract(url: str, standin_json: str, api: str) -> dict[str, Any]:
    from revcert.extraction.salesforce_client import SalesforceClient, SalesforceCredentials
    from revcert.local.extract import extract_salesforce
    from revcert.settings import Settings

    standin = json.loads(standin_json)
    settings = Settings(bulk_threshold=0 if api == "bulk2" else 10**12)
    credentials = SalesforceCredentials(standin["url"], standin["client_id"], standin["client_secret"],
                                        standin["ca_bundle"])
    started = time.monotonic()
    batch_id = extract_salesforce(url, SalesforceClient(credentials, settings), settings)
    seconds = time.monotonic() - started
    with connect(url) as conn:
        records = conn.execute("select sum(records_fetched) from raw.extraction_batch_object where batch_id = %s",
                               [batch_id]).fetchone()[0]
    return {"seconds": seconds, "peak_mib": _peak_mib(), "records": int(records)}


def _mart(url: str, as_of: str) -> dict[str, Any]:
    from revcert.methodology.mart import build_mart

    started = time.monotonic()
    with connect(url) as conn:
        build = build_mart(conn, date.fromisoformat(as_of), [])
    return {"seconds": time.monotonic() - started, "peak_mib": _peak_mib(),
            "records": build.row_counts["mart_customer_snapshot"]}


def _identity(url: str) -> dict[str, Any]:
    from revcert.methodology.identity import movement_identity_breaks

    started = time.monotonic()
    with connect(url) as conn:
        breaks = movement_identity_breaks(conn)
    if breaks:
        raise SystemExit(f"movement identity broken: {breaks[:5]}")
    return {"seconds": time.monotonic() - started, "peak_mib": _peak_mib(), "records": None}


def _derivation(url: str, as_of: str) -> dict[str, Any]:
    from revcert.certification.figure_comparison import compare_figures, read_mart_figures
    from revcert.certification.independent_derivation import derive_figures, read_staging
    from revcert.settings import Settings

    started = time.monotonic()
    with connect(url) as conn:
        staged = read_staging(conn)
        derived = derive_figures(staged, date.fromisoformat(as_of), Settings().renewal_grace_days)
        differences = compare_figures(read_mart_figures(conn), derived)
    if differences:
        raise SystemExit(f"the derivation disagrees with the mart: {differences[:5]}")
    return {"seconds": time.monotonic() - started, "peak_mib": _peak_mib(), "records": len(staged.lines)}


def _fresh_database(server: EmbeddedPostgres, name: str) -> str:
    from revcert.warehouse import migrate

    with connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    migrate.upgrade(server.url(name))
    return server.url(name)


def run_benchmark(lines: int, as_of: date) -> str:
    """Generate an org of `lines` subscription lines, extract it (REST, then Bulk 2.0), build and certify the mart."""
    figures: list[StepFigures] = []
    with tempfile.TemporaryDirectory(prefix="revcert-bench-") as workdir:
        org = Path(workdir) / "org"
        generated = _worker("generate", str(org), str(lines))
        figures.append(StepFigures("generate org", generated["seconds"], generated["peak_mib"], generated["records"]))
        server = EmbeddedPostgres(Path(workdir) / "pgdata")
        server.start()
        standin = subprocess.Popen([sys.executable, "-m", "revcert.cli", "standin", "salesforce", "--snapshot",
                                    str(org)], stdout=subprocess.PIPE, text=True)
        try:
            standin_json = standin.stdout.readline()
            for api in ("rest", "bulk2"):
                url = _fresh_database(server, f"bench_{api}")
                result = _worker("extract", url, standin_json, api)
                figures.append(StepFigures(f"extract via {api}", result["seconds"], result["peak_mib"],
                                           result["records"]))
            steps = (("mart", ("mart", url, as_of.isoformat())), ("movement identity", ("identity", url)),
                     ("independent derivation", ("derivation", url, as_of.isoformat())))
            for step, arguments in steps:
                result = _worker(*arguments)
                figures.append(StepFigures(step, result["seconds"], result["peak_mib"], result["records"]))
        finally:
            standin.terminate()
            standin.wait()
            server.stop()
    return format_figures(lines, figures)


def format_figures(lines: int, figures: list[StepFigures]) -> str:
    rows = [f"benchmark: {lines} subscription lines"]
    for step in figures:
        rate = f"{step.records_per_second:,.0f} rows/s" if step.records_per_second else ""
        rows.append(f"  {step.step:<24} {step.seconds:8.1f} s  peak {step.peak_mib:8.0f} MiB  "
                    f"{step.records or '':>9} rows  {rate}")
    return "\n".join(rows)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    steps = {"generate": _generate, "extract": _extract, "mart": _mart, "identity": _identity,
             "derivation": _derivation}
    print(json.dumps(steps[command](*arguments)))
