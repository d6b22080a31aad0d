"""The certified MRR pipeline's benchmark, on a generated org of a chosen size.

Org generation, one extraction per API through the Salesforce stand-in
(serving over HTTPS from another process), the mart, the movement identity and
the independent derivation. The mart's and the identity's memory figures are
the client's; the work happens in PostgreSQL.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from psycopg import sql

from revcert.bench.figures import StepFigures, format_figures, peak_mib, run_step
from revcert.warehouse.connection import connect
from revcert.warehouse.embedded import EmbeddedPostgres


def _generate(out: str, lines: str) -> dict[str, Any]:
    from revcert.snapshots.salesforce_generator import OrgShape, generate_org

    started = time.monotonic()
    counts = generate_org(Path(out), OrgShape(lines=int(lines)))
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": counts["SBQQ__Subscription__c"]}


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
    return {"seconds": seconds, "peak_mib": peak_mib(), "records": int(records)}


def _mart(url: str, as_of: str) -> dict[str, Any]:
    from revcert.methodology.mart import build_mart

    started = time.monotonic()
    with connect(url) as conn:
        build = build_mart(conn, date.fromisoformat(as_of), [])
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(),
            "records": build.row_counts["mart_customer_snapshot"]}


def _identity(url: str) -> dict[str, Any]:
    from revcert.methodology.identity import movement_identity_breaks

    started = time.monotonic()
    with connect(url) as conn:
        breaks = movement_identity_breaks(conn)
    if breaks:
        raise SystemExit(f"movement identity broken: {breaks[:5]}")
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": None}


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
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": len(staged.lines)}


def fresh_database(server: EmbeddedPostgres, name: str) -> str:
    from revcert.warehouse import migrate

    with connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    migrate.upgrade(server.url(name))
    return server.url(name)


def run_salesforce_benchmark(lines: int, as_of: date) -> str:
    """Generate an org of `lines` subscription lines, extract it (REST, then Bulk 2.0), build and certify the mart."""
    figures: list[StepFigures] = []
    with tempfile.TemporaryDirectory(prefix="revcert-bench-") as workdir:
        org = Path(workdir) / "org"
        figures.append(run_step("generate", str(org), str(lines), name="generate org"))
        server = EmbeddedPostgres(Path(workdir) / "pgdata")
        server.start()
        standin = subprocess.Popen([sys.executable, "-m", "revcert.cli", "standin", "salesforce", "--snapshot",
                                    str(org)], stdout=subprocess.PIPE, text=True)
        try:
            standin_json = standin.stdout.readline()
            for api in ("rest", "bulk2"):
                url = fresh_database(server, f"bench_{api}")
                figures.append(run_step("extract", url, standin_json, api, name=f"extract via {api}"))
            steps = (("mart", ("mart", url, as_of.isoformat())), ("movement identity", ("identity", url)),
                     ("independent derivation", ("derivation", url, as_of.isoformat())))
            for step, arguments in steps:
                figures.append(run_step(*arguments, name=step))
        finally:
            standin.terminate()
            standin.wait()
            server.stop()
    return format_figures(f"{lines} subscription lines", figures)


STEPS = {"generate": _generate, "extract": _extract, "mart": _mart, "identity": _identity,
         "derivation": _derivation}
