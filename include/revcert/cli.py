"""`revcert`: the command line beside the Airflow UI.

    revcert run (--snapshot DIR | --salesforce-conn CONN_ID) [--as-of YYYY-MM-DD] [--database-url URL] [--full]
    revcert generate-org --out DIR [--accounts N] [--lines N] [--seed S] [--if-missing]
    revcert standin salesforce --snapshot DIR [--port P] [--page-size N]
    revcert db start|stop|url|migrate [--database-url URL]
    revcert bench [--lines N]
    revcert ui [--port P]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import date
from pathlib import Path


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revcert", description="Certified revenue pipelines on Apache Airflow.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="extract, stage and (later) certify and publish")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--snapshot", type=Path, help="org snapshot directory, served through the stand-in")
    source.add_argument("--salesforce-conn", help="Airflow connection id of a Salesforce org")
    run.add_argument("--as-of", type=_date, help="as-of date (default: today in the business timezone)")
    run.add_argument("--database-url", help="warehouse PostgreSQL URL (default: the embedded server)")
    run.add_argument("--full", action="store_true", help="ignore the watermarks and read everything")

    generate = commands.add_parser("generate-org", help="write a synthetic CPQ org snapshot")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--accounts", type=_positive, default=2000)
    generate.add_argument("--lines", type=_positive, help="keep adding customers until this many lines exist")
    generate.add_argument("--seed", type=int, default=20260101)
    generate.add_argument("--if-missing", action="store_true", help="do nothing when --out already holds an org")

    standin = commands.add_parser("standin", help="serve a snapshot through a source's wire protocol")
    standin_kinds = standin.add_subparsers(dest="standin", required=True)
    salesforce = standin_kinds.add_parser("salesforce")
    salesforce.add_argument("--snapshot", type=Path, required=True)
    salesforce.add_argument("--port", type=int, default=0)
    salesforce.add_argument("--page-size", type=_positive, default=2000)

    db = commands.add_parser("db", help="the warehouse database")
    db.add_argument("action", choices=["start", "stop", "url", "migrate"])
    db.add_argument("--database-url")

    ui = commands.add_parser("ui", help="the Airflow UI (airflow standalone) with the DAGs, connections and page")
    ui.add_argument("--port", type=_positive, default=8080)

    bench = commands.add_parser("bench", help="time and peak memory of every stage on a generated org")
    bench.add_argument("--lines", type=_positive, default=100_000)
    bench.add_argument("--as-of", type=_date, default=date(2026, 11, 21))
    return parser


def command_run(args: argparse.Namespace) -> int:
    from revcert.orchestration.local_run import run_certified_mrr

    result = run_certified_mrr(snapshot=args.snapshot, salesforce_conn=args.salesforce_conn,
                               database_url=args.database_url, as_of=args.as_of, full=args.full)
    failed = {task: state for task, state in result.task_states.items() if state not in ("success",)}
    print(f"certified_mrr: {result.state} (certification {result.certification_id})"
          + (f"; {', '.join(f'{t} {s}' for t, s in sorted(failed.items()))}" if failed else ""))
    print(result.extraction_audit)
    if result.certified:
        print(result.report)
    else:
        for message in result.slack_messages:
            print(f"\nSlack message:\n{message}")
        print("\nNothing was published by this run; the figures published before are unchanged.")
    print(f"\nAirflow's log of the run: {result.log_file}\n"
          "Next: `make ui` to see the run in Airflow; the certified figures are in viz.mrr_bridge "
          "(`revcert db url`), the checks in certification.check_result.")
    return 0 if result.certified else 1


def command_generate(args: argparse.Namespace) -> int:
    from revcert.orgs.generator import OrgShape, generate_org

    if args.if_missing and (args.out / "SBQQ__Subscription__c.jsonl").exists():
        print(f"org already at {args.out}")
        return 0
    started = time.monotonic()
    counts = generate_org(args.out, OrgShape(accounts=args.accounts, lines=args.lines, seed=args.seed))
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    print(f"generated org in {args.out} in {time.monotonic() - started:.1f}s: {summary}")
    return 0


def command_standin(args: argparse.Namespace) -> int:
    from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn

    standin = SalesforceStandIn(SalesforceOrg.from_snapshot(args.snapshot), port=args.port, page_size=args.page_size)
    with standin:
        # One JSON line, so scripts (and the benchmark) can read where it listens.
        print(json.dumps({"url": standin.url, "ca_bundle": str(standin.ca_bundle), "client_id": standin.client_id,
                          "client_secret": standin.client_secret}), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def command_db(args: argparse.Namespace) -> int:
    from revcert.warehouse import migrate
    from revcert.warehouse.database import embedded_server, warehouse_url

    if args.action == "stop":
        embedded_server().stop()
        print("embedded PostgreSQL stopped")
        return 0
    url = warehouse_url(args.database_url)
    if args.action == "migrate":
        migrate.upgrade(url)
        print(f"warehouse at revision {migrate.current_revision(url)}")
    else:
        print(url)
    return 0


def command_bench(args: argparse.Namespace) -> int:
    from revcert.bench import run_benchmark

    print(run_benchmark(args.lines, args.as_of))
    return 0


def command_ui(args: argparse.Namespace) -> int:
    from revcert.orchestration.local_airflow import local_airflow
    from revcert.orgs.generator import OrgShape, generate_org
    from revcert.settings import Settings

    settings = Settings()
    org_dir = settings.home / "demo-org"
    if not (org_dir / "SBQQ__Subscription__c.jsonl").exists():
        generate_org(org_dir, OrgShape())
    airflow = local_airflow(settings, org_dir, args.port)
    started_postgres = not airflow.postgres.is_running()
    airflow.postgres.start()
    try:
        airflow.prepare()
        print("Certifying once as of today, so the page has data (about a minute)...", flush=True)
        airflow.airflow("dags", "test", "certified_mrr", date.today().isoformat())
        airflow.start(airflow.home / "standalone.log")
        print(f"\nAirflow UI: {airflow.base_url}\n  user: admin\n  password: in {airflow.home}/"
              f"simple_auth_manager_passwords.json.generated\n  certified revenue: {airflow.base_url}/plugin/"
              f"certified-revenue\n  Slack messages: {airflow.slack_record}\n  log: {airflow.home}/standalone.log"
              "\nCtrl-C stops everything.", flush=True)
        airflow.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        airflow.stop()
        if started_postgres:
            airflow.postgres.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = {"run": command_run, "generate-org": command_generate, "standin": command_standin,
                "db": command_db, "bench": command_bench, "ui": command_ui}
    from revcert.extraction.salesforce_client import SalesforceExtractionError

    try:
        return handlers[args.command](args)
    except SalesforceExtractionError as error:
        print(f"extraction failed: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
