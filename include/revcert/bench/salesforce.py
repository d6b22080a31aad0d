"""The certified MRR pipeline's benchmark, on a generated org of a chosen size.

Org generation, one extraction per API through the Salesforce stand-in
(serving over HTTPS from threads of the bench's own process, which only waits
while a step runs in its own process) and the stand-in serving the same pages
alone, then medians of three runs of the mart (built whole) beside its two
yardsticks (the dbt mrr-playbook peer in benchmarks/mrr_playbook and the
physical floor: a COPY of the lines and one grouped scan), the movement
identity and the independent derivation; then the rest of a full certified run
(transform, identity check, certify, publish) once. Then about 1% of the
org's records change at the source (bench.salesforce_changes) and the run is
repeated as the twice-daily schedule runs it: an incremental extraction and
an incremental mart, certified and published; its time is set beside the
full run's. Last, the next day's first run: the same extraction and run with
the as-of date a day later and nothing changed at the source, which rebuilds
every customer's as-of month (half of the scheduled runs are such runs; the
first of a week or a month builds whole). Every figure is
beside its goal (issue 16). The mart's and the identity's memory figures are
the client's; the work happens in PostgreSQL.
"""
from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from revcert.bench.figures import (
    ForkedCopiesMemory,
    Goal,
    StepFigures,
    format_figures,
    median_of_runs,
    peak_mib,
    run_step,
)
from revcert.sqlfiles import load_sql
from revcert.warehouse.connection import connect
from revcert.warehouse.embedded import EmbeddedPostgres

if TYPE_CHECKING:
    from revcert.bench.salesforce_changes import OrgChanges
    from revcert.standins.salesforce.server import SalesforceStandIn

ROUNDS = 3
GOAL_LINES = 1_000_000
DAG_ID = "bench_certified_mrr"
# Whole builds where the bench times a whole mart: after the first build the mart holds one at the same as-of
# date, so a build left to itself would be incremental with nothing to recompute.
WHOLE_FOR_TIMING = "the bench times a whole build"
WHOLE_FOR_FULL_RUN = "the bench's full run recomputes every customer"
INCREMENTAL_GOAL = 10  # per cent of the full run
# The derivation is also timed split between this many processes: the REVCERT_DERIVATION_PROCESSES a two-core
# worker would set.
SPLIT_BETWEEN = 2
# How many of a run's mart models its figures name, slowest first: where an incremental build's time goes.
SLOWEST_MODELS = 4
# The peer is a yardstick, not product code: it lives in the checkout's benchmarks/ and is read by path.
PEER_DIRECTORY = Path(__file__).resolve().parents[3] / "benchmarks" / "mrr_playbook"
PEER_FEED = "subscription_periods"
PEER_MODELS = ("util_months", "customer_revenue_by_month", "customer_churn_month", "mrr")
_TOTAL_SIZE = re.compile(rb'"totalSize": ?(\d+)')
_NEXT_PAGE = re.compile(rb'"nextRecordsUrl": ?"([^"]+)"')


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
    # "dag": each object by the number of its records due, as a run of the DAG chooses.
    settings = Settings(**{"bulk2": {"bulk_threshold": 0}, "rest": {"bulk_threshold": 10**12}, "dag": {}}[api])
    credentials = SalesforceCredentials(standin["url"], standin["client_id"], standin["client_secret"],
                                        standin["ca_bundle"])
    started = time.monotonic()
    batch_id = extract_salesforce(url, SalesforceClient(credentials, settings), settings)
    seconds = time.monotonic() - started
    with connect(url) as conn:
        records = conn.execute("select sum(records_fetched) from raw.extraction_batch_object where batch_id = %s",
                               [batch_id]).fetchone()[0]
    return {"seconds": seconds, "peak_mib": peak_mib(), "records": int(records)}


def _rest_pages(http, base: str, obj, settings) -> int:
    """Every REST page of one object's query, bodies discarded (only the next page's address is read)."""
    from revcert.extraction.salesforce_extract import build_soql

    verb = "queryAll" if obj.has_is_deleted else "query"
    response = http.get(f"{base}/services/data/v{settings.salesforce_api_version}/{verb}",
                        params={"q": build_soql(obj, None, order=True)})
    response.raise_for_status()
    records = int(_TOTAL_SIZE.search(response.content[:200]).group(1))
    while next_page := _NEXT_PAGE.search(response.content[-300:]):
        response = http.get(base + next_page.group(1).decode())
        response.raise_for_status()
    return records


def _bulk2_pages(http, base: str, obj, settings) -> int:
    """Every Bulk 2.0 results page of one object's query job, bodies discarded (the count is a header)."""
    from revcert.extraction.salesforce_extract import build_soql

    jobs = f"{base}/services/data/v{settings.salesforce_api_version}/jobs/query"
    response = http.post(jobs, json={"operation": "queryAll" if obj.has_is_deleted else "query",
                                     "query": build_soql(obj, None, order=False)})
    response.raise_for_status()
    job_id, state = response.json()["id"], ""
    while state not in ("JobComplete", "Failed", "Aborted"):
        state = http.get(f"{jobs}/{job_id}").json()["state"]
    if state != "JobComplete":
        raise SystemExit(f"the stand-in's {obj.api_name} job ended {state}")
    records, locator = 0, None
    while locator != "null":
        response = http.get(f"{jobs}/{job_id}/results", params={"maxRecords": settings.bulk_page_size,
                                                                 **({"locator": locator} if locator else {})})
        response.raise_for_status()
        records += int(response.headers["Sforce-NumberOfRecords"])
        locator = response.headers["Sforce-Locator"]
    return records


def _serve(standin_json: str, api: str) -> dict[str, Any]:
    """The stand-in alone: every object's records, paged as the extraction pages them, to a plain HTTP client
    that discards them (what the stand-in can serve, so the extraction client's share shows)."""
    import requests

    from revcert.extraction.salesforce_objects import salesforce_objects
    from revcert.settings import Settings

    standin = json.loads(standin_json)
    settings = Settings()
    pages = _rest_pages if api == "rest" else _bulk2_pages
    started = time.monotonic()
    with requests.Session() as http:
        http.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would otherwise replace the stand-in's CA
        http.verify = standin["ca_bundle"]
        token = http.post(f"{standin['url']}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": standin["client_id"],
            "client_secret": standin["client_secret"]})
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        records = sum(pages(http, standin["url"], obj, settings) for obj in salesforce_objects(settings))
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": records}


def _mart(url: str, as_of: str) -> dict[str, Any]:
    from revcert.methodology.mart import build_mart

    started = time.monotonic()
    with connect(url) as conn:
        build = build_mart(conn, date.fromisoformat(as_of), [], whole_because=WHOLE_FOR_TIMING)
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(),
            "records": build.row_counts["mart_customer_snapshot"], "parts": build.model_seconds}


def build_peer(conn: psycopg.Connection, as_of: date) -> dict[str, float]:
    """Materialise the mrr-playbook port as tables in the schema `mrr_playbook`, in dbt's order, fed the mart's
    service intervals; returns the seconds of each model.

    Args:
        conn: The warehouse, after the mart is built: autocommit in the bench, as dbt runs models (a test may
            hold it all in one transaction).
        as_of: The bench's as-of date: the playbook's spine ends before its month (its current_date).
    """
    conn.execute("drop schema if exists mrr_playbook cascade")
    conn.execute("create schema mrr_playbook")
    seconds = {}
    for model in (PEER_FEED, *PEER_MODELS):
        query = (PEER_DIRECTORY / f"{model}.sql").read_text(encoding="utf-8")
        started = time.monotonic()
        conn.execute(sql.SQL("create table {} as {}").format(sql.Identifier("mrr_playbook", model), sql.SQL(query)),
                     {"as_of_date": as_of})
        seconds[model] = time.monotonic() - started
    return seconds


def _peer(url: str, as_of: str) -> dict[str, Any]:
    with connect(url, autocommit=True) as conn:
        seconds = build_peer(conn, date.fromisoformat(as_of))
        rows = conn.execute("select count(*) from mrr_playbook.mrr").fetchone()[0]
        periods = conn.execute("select count(*) from mrr_playbook.subscription_periods").fetchone()[0]
    feed = seconds.pop(PEER_FEED)
    return {"seconds": sum(seconds.values()), "peak_mib": peak_mib(), "records": rows, "parts": seconds,
            "detail": f"fed {periods} service intervals in {feed:.1f} s, not counted (the playbook's seed)"}


def _floor(url: str) -> dict[str, Any]:
    """The physical floor: COPY the subscription lines out and into a fresh table, and one grouped scan of them.

    The table is unlogged (no WAL): the least a load can write, so the floor is never flattered upward.
    """
    with connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists bench_floor cascade")
        conn.execute("create schema bench_floor")
    started = time.monotonic()
    with connect(url) as source, connect(url) as target:
        target.execute("create unlogged table bench_floor.subscription_line (like staging.stg_subscription_line)")
        with target.cursor() as loading:
            with source.cursor().copy("copy staging.stg_subscription_line to stdout (format binary)") as out, \
                    loading.copy("copy bench_floor.subscription_line from stdin (format binary)") as into:
                for data in out:
                    into.write(data)
            lines = loading.rowcount
        target.commit()
        accounts = len(target.execute("select account_id, sum(net_price * quantity) from bench_floor.subscription_line "
                                      "group by account_id").fetchall())
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": lines,
            "detail": f"an unlogged table; {accounts} accounts summed"}


def _identity(url: str) -> dict[str, Any]:
    from revcert.methodology.identity import movement_identity_breaks

    started = time.monotonic()
    with connect(url) as conn:
        breaks = movement_identity_breaks(conn)
    if breaks:
        raise SystemExit(f"movement identity broken: {breaks[:5]}")
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib(), "records": None}


def _derivation(url: str, as_of: str, processes: str) -> dict[str, Any]:
    """Check 4 as certification runs it on a whole build, the derivation in up to `processes` processes: the
    server hashes the mart's detail per customer on a second connection while the derivation reads staging,
    derives every customer and compares."""
    from revcert.certification.detail_proofs import read_proofs
    from revcert.certification.figure_comparison import compare_with_mart
    from revcert.certification.fingerprint import detail_digests
    from revcert.certification.independent_derivation import read_staging
    from revcert.settings import Settings
    from revcert.warehouse.connection import beside

    started, as_of_date, settings = time.monotonic(), date.fromisoformat(as_of), Settings()
    with (ForkedCopiesMemory() as copies, connect(url) as conn, beside(conn) as other,
          ThreadPoolExecutor(1) as pool):
        digests = pool.submit(detail_digests, other)
        proofs = read_proofs(conn, as_of_date, settings.renewal_grace_days, scoped=False, mart_digests=digests.result)
        staged = read_staging(conn)
        comparison = compare_with_mart(conn, staged, as_of_date, settings.renewal_grace_days, [], proofs,
                                       int(processes))
    if comparison.differences:
        raise SystemExit(f"the derivation disagrees with the mart: {comparison.differences[:5]}")
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib() + copies.peak_mib,
            "records": len(staged.lines),
            "detail": f"{comparison.customers_compared:,} customers' detail compared by digest, "
                      f"{comparison.customers_read:,} of them read row by row; "
                      f"derived in at most {_processes(int(processes))}, {copies}"}


def _processes(count: int) -> str:
    return f"{count} process{'es' if count > 1 else ''}"


@contextmanager
def _timed(parts: dict[str, float], part: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    parts[part] = time.monotonic() - started


def _wal_position(conn: psycopg.Connection) -> str:
    return conn.execute("select pg_current_wal_lsn()::text").fetchone()[0]


def _wal_mib_since(conn: psycopg.Connection, position: str) -> int:
    """The write-ahead log the server wrote since `position`, in whole MiB: what a production server would also
    archive and send to its replicas."""
    written = conn.execute("select pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [position]).fetchone()[0]
    return int(written) // 2**20


def _certify_and_publish(url: str, as_of: str, run_id: str, whole_because: str) -> dict[str, Any]:
    """The rest of a certified run after extraction and staging, as the DAG's tasks run it: transform (whole
    for `whole_because`; when it is empty, as the DAG decides: incremental after a certified build), identity
    check, certify (every check of METHODOLOGY.md Part C), publish (with the metrics it refreshes); the seconds
    of each, and how many customers the mart recomputed, check 4 compared and publishing compared."""
    from revcert.certification.certify import certify_run
    from revcert.certification.checks import check_movement_identity
    from revcert.certification.record import (
        open_certification,
        read_certification,
        record_check,
        update_certification,
    )
    from revcert.methodology.mart import build_mart
    from revcert.orchestration.certified_mrr import (
        publish_certification,
        record_mart_build,
        whole_build_requested,
    )
    from revcert.settings import Settings

    settings, as_of_date, parts = Settings(), date.fromisoformat(as_of), {}
    started = time.monotonic()
    with ForkedCopiesMemory() as copies, connect(url) as conn:
        certification_id = open_certification(conn, DAG_ID, run_id, as_of_date)
        batch_id = conn.execute("select max(batch_id) from raw.extraction_batch where status = 'staged'").fetchone()[0]
        update_certification(conn, certification_id, extraction_batch_id=batch_id)
        conn.commit()
        with _timed(parts, "transform (mart)"):
            wal_before = _wal_position(conn)
            build = build_mart(conn, as_of_date, [], settings, certification_id,
                               whole_because=whole_because or whole_build_requested(conn, full_extraction=False))
            record_mart_build(conn, certification_id, build)
            conn.commit()
            mart_wal = _wal_mib_since(conn, wal_before)
        with _timed(parts, "identity check"):
            record_check(conn, certification_id, check_movement_identity(conn))
            conn.commit()
        certification = read_certification(conn, certification_id)
        conn.commit()
        with _timed(parts, "certify"):
            certify_run(conn, certification, settings)
            conn.commit()
        certification = read_certification(conn, certification_id)
        if certification.status != "certified":
            raise SystemExit(f"the bench's run was not certified: {certification.failure_summary}")
        compared = conn.execute(load_sql("certification", "detail_proofs_of_certification"),
                                {"certification_id": certification_id}).fetchone()[0]
        with _timed(parts, "publish"):
            published = publish_certification(conn, certification, as_of_date)
            conn.commit()
    how = (f"whole: {build.whole_because}" if build.whole_because
           else f"incremental, every customer's {build.rebuilt_month:%Y-%m} rebuilt" if build.rebuilt_month
           else "incremental")
    republished = ("every customer's" if published.customers_compared is None
                   else f"{published.customers_compared:,} customers'")
    slowest = sorted(build.model_seconds.items(), key=lambda model: model[1], reverse=True)[:SLOWEST_MODELS]
    return {"seconds": time.monotonic() - started, "peak_mib": peak_mib() + copies.peak_mib,
            "records": published.rows_written,
            "parts": parts, "detail": f"mart recomputed {build.lines_recomputed:,} of "
                                      f"{build.row_counts['mart_subscription_line']:,} lines and "
                                      f"{build.customers_recomputed:,} of {build.customers:,} "
                                      f"customers, {how}, writing {mart_wal:,} MiB of write-ahead log; "
                                      f"check 4 compared {compared:,} customers' detail; "
                                      f"publishing compared {republished} detail; {copies}; the mart's slowest "
                                      "models: " + ", ".join(f"{model} {seconds:.2f} s" for model, seconds in slowest)}


def _scheduled_run(url: str, standin: SalesforceStandIn, standin_json: str, as_of: date, label: str
                   ) -> list[StepFigures]:
    """A run as the schedule starts it after a certified one: extraction with the DAG's API since the
    watermarks, then transform to publish, whole or incremental as the DAG decides. The extraction's detail says
    how long the stand-in spent selecting the records asked for, which Salesforce would answer from an index."""
    selecting = standin.seconds_selecting
    extraction = run_step("extract", url, standin_json, "dag", unit="records", name=f"{label}: extract (DAG's API)")
    selected = standin.seconds_selecting - selecting
    extraction = replace(extraction, detail=f"of which the stand-in selecting the records asked for (a scan of "
                                            f"every record per query): {selected:.2f} s")
    return [extraction, run_step("certify-publish", url, as_of.isoformat(), f"bench-{label.replace(' ', '-')}", "",
                                 name=f"{label}: transform to publish")]


def fresh_database(server: EmbeddedPostgres, name: str) -> str:
    from revcert.warehouse import migrate

    with connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    migrate.upgrade(server.url(name))
    return server.url(name)


def _serving_share(serving: StepFigures, extraction: StepFigures) -> StepFigures:
    share = serving.seconds / extraction.seconds
    return replace(serving, detail=f"a client that discards the pages; serving is {share:.0%} of the extraction's "
                                   f"{extraction.seconds:.1f} s, the client and staging {1 - share:.0%}")


def _goals(extraction: dict[str, StepFigures], full_run: float, incremental_run: float, mart: StepFigures,
           peer: StepFigures, floor: StepFigures, derivation: StepFigures) -> list[Goal]:
    return [
        Goal("full certified recompute (Bulk 2.0, one run)", full_run, 120, "s"),
        Goal("incremental run / full run (1% changed)", 100 * incremental_run / full_run, INCREMENTAL_GOAL, "%"),
        Goal("independent derivation: time", derivation.seconds, 40, "s"),
        Goal("independent derivation: peak memory", derivation.peak_mib, 1024, "MiB"),
        Goal("extraction via Bulk 2.0", extraction["bulk2"].records_per_second or 0, 30_000, "records/s",
             at_most=False),
        Goal("extraction via REST", extraction["rest"].records_per_second or 0, 15_000, "records/s", at_most=False),
        Goal("mart / mrr-playbook peer", mart.seconds / peer.seconds, 0.5),
        Goal("mart / floor (COPY + one grouped scan)", mart.seconds / floor.seconds, 5),
    ]


def _changes_note(changes: OrgChanges) -> str:
    kinds = ", ".join(f"{count} {kind}" for kind, count in changes.kinds.items())
    return (f"{changes.records:,} of the org's {changes.org_records:,} records changed at the source "
            f"({changes.records / changes.org_records:.1%}): {kinds}, one account's business unit, one dated "
            "conversion rate")


def run_salesforce_benchmark(lines: int, as_of: date) -> str:
    """Generate an org of `lines` subscription lines, extract it (REST, then Bulk 2.0) and serve it alone, time
    the mart beside the peer and the floor, certify and publish, change 1% of the org and run again
    incrementally, run once more as the next day's first run, and set every figure beside its goal."""
    from revcert.bench.salesforce_changes import change_one_percent
    from revcert.settings import Settings
    from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn

    if not PEER_DIRECTORY.is_dir():
        raise FileNotFoundError(f"the mrr-playbook peer is not at {PEER_DIRECTORY}: run the bench from a checkout")
    figures: list[StepFigures] = []
    extraction: dict[str, StepFigures] = {}
    with tempfile.TemporaryDirectory(prefix="revcert-bench-") as workdir:
        snapshot = Path(workdir) / "org"
        figures.append(run_step("generate", str(snapshot), str(lines), name="generate org"))
        server = EmbeddedPostgres(Path(workdir) / "pgdata")
        server.start()
        try:
            # Served from this process, so the changes are made to the very org it serves (apply_edits).
            org = SalesforceOrg.from_snapshot(snapshot)
            with SalesforceStandIn(org, state_dir=Path(workdir) / "standin") as standin:
                standin_json = json.dumps(standin.login())
                for api in ("rest", "bulk2"):
                    url = fresh_database(server, f"bench_{api}")
                    extraction[api] = run_step("extract", url, standin_json, api, unit="records",
                                               name=f"extract via {api}")
                    serving = run_step("serve", standin_json, api, unit="records",
                                       name=f"stand-in alone, {api} pages")
                    figures += [extraction[api], _serving_share(serving, extraction[api])]
                rounds = [(run_step("mart", url, as_of.isoformat(), name="mart"),
                           run_step("peer", url, as_of.isoformat(), name="mrr-playbook peer"),
                           run_step("floor", url, name="floor: COPY + one grouped scan"))
                          for _ in range(ROUNDS)]
                mart, peer, floor = (median_of_runs(runs) for runs in zip(*rounds))
                identity = median_of_runs([run_step("identity", url, name="movement identity")
                                           for _ in range(ROUNDS)])
                derivation, split_derivation = (
                    median_of_runs([run_step("derivation", url, as_of.isoformat(), str(processes), name=name)
                                    for _ in range(ROUNDS)])
                    for processes, name in ((Settings().derivation_processes, "independent derivation"),
                                            (SPLIT_BETWEEN, f"derivation in {_processes(SPLIT_BETWEEN)}")))
                recompute = run_step("certify-publish", url, as_of.isoformat(), "bench-full", WHOLE_FOR_FULL_RUN,
                                     name="transform, certify and publish")
                changes = change_one_percent(org, as_of)
                incremental = _scheduled_run(url, standin, standin_json, as_of, "incremental")
                # The next morning's run: nothing changed at the source overnight, but the as-of date moved a day.
                next_day = _scheduled_run(url, standin, standin_json, as_of + timedelta(days=1), "next day")
        finally:
            server.stop()
    figures += [mart, peer, floor, identity, derivation, split_derivation, recompute, *incremental, *next_day]
    full_run = extraction["bulk2"].seconds + recompute.seconds
    incremental_run = sum(step.seconds for step in incremental)
    next_day_run = sum(step.seconds for step in next_day)
    whole_mart, incremental_mart = (step.parts["transform (mart)"] for step in (recompute, incremental[1]))
    notes = [f"mart, peer, floor, identity and derivation: medians of {ROUNDS} runs (the mart, the peer and the "
             "floor take turns each round); peak memory: the highest run",
             f"the goals' derivation runs as certification does with REVCERT_DERIVATION_PROCESSES "
             f"({Settings().derivation_processes}); the derivation in {_processes(SPLIT_BETWEEN)} is that setting's "
             f"lever: its memory is the step's own peak and the most its forked copy held of its own",
             "extraction, the stand-in alone, the certified run after extraction, the incremental run and the next "
             "day's first run: one run each",
             f"full certified recompute = extract via bulk2 (staging included) {extraction['bulk2'].seconds:.1f} s + "
             f"transform, certify and publish {recompute.seconds:.1f} s",
             _changes_note(changes),
             f"incremental run = extract with the DAG's API (since the watermarks, REST for an object with at most "
             f"{Settings().bulk_threshold:,} records due, Bulk 2.0 above; staging included) "
             f"{incremental[0].seconds:.1f} s + transform to publish {incremental[1].seconds:.1f} s = "
             f"{incremental_run:.1f} s, {incremental_run / full_run:.1%} of the full run's {full_run:.1f} s",
             f"incremental mart {incremental_mart:.1f} s / whole mart in the full run {whole_mart:.1f} s = "
             f"{incremental_mart / whole_mart:.1%}; check 4 reads all of staging, and derives, sums afresh and "
             "compares only the customers whose inputs or mart rows differ from their proof",
             f"next day's first run (half of the twice-daily runs: the as-of date moved, so every customer's "
             f"as-of month is rebuilt, or the whole mart on a week's or a month's first day) = extract "
             f"{next_day[0].seconds:.1f} s + transform to publish "
             f"{next_day[1].seconds:.1f} s = {next_day_run:.1f} s, {next_day_run / full_run:.1%} of the full run"]
    goals_title = "goals" if lines == GOAL_LINES else f"goals (set for {GOAL_LINES:,} lines; this run has {lines:,})"
    return format_figures(f"{lines} subscription lines", figures, notes,
                          _goals(extraction, full_run, incremental_run, mart, peer, floor, derivation), goals_title)


STEPS = {"generate": _generate, "extract": _extract, "serve": _serve, "mart": _mart, "peer": _peer, "floor": _floor,
         "identity": _identity, "derivation": _derivation, "certify-publish": _certify_and_publish}
