"""`revcert`: the command line beside the Airflow UI.

    revcert run (--snapshot DIR | --salesforce-conn CONN_ID) [--as-of YYYY-MM-DD] [--database-url URL] [--full]
    revcert shop run (--snapshot DIR | --shopify-conn CONN_ID) [--as-of YYYY-MM-DD] [--database-url URL]
                     [--refund-date-shops ID,ID] [--full]
    revcert shop audit --shop ID --from YYYY-MM-DD --to YYYY-MM-DD [--repair] [--database-url URL]
                       [--shopify-conn CONN_ID]
    revcert generate-org --out DIR [--accounts N] [--lines N] [--seed S] [--if-missing]
    revcert generate-shops --out DIR [--shops N] [--orders N] [--seed S] [--if-missing]
    revcert standin salesforce --snapshot DIR [--port P] [--page-size N]
    revcert standin shopify --snapshot DIR [--port P]
    revcert db start|stop|url|migrate [--database-url URL]
    revcert db viz-login NAME [--database-url URL]   (password from REVCERT_VIZ_PASSWORD)
    revcert lease show|release [--force] [--reason TEXT] [--database-url URL]
    revcert incident list [--status open|acknowledged|resolved] [--database-url URL]
    revcert incident resolve ID --note TEXT [--expected-until YYYY-MM-DD] [--by NAME] [--database-url URL]
    revcert incident acknowledge ID [--by NAME] [--database-url URL]
    revcert roles sync   (Airflow's FAB auth manager: the Finance viewer and Operator roles)
    revcert bench [--pipeline salesforce|shops|both] [--lines N] [--shops N --orders N]
    revcert ui [--port P]

Exit codes everywhere: 0 done as asked, 1 the data or the source refused it
(named), 2 bad arguments. A run that did nothing never exits 0.
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from revcert.settings import Settings


class Refused(Exception):
    """The data, the source or the warehouse refused what was asked; exit 1 with the message."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text!r}")
    return value


def _port(text: str, allow_any: bool = False) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not (0 if allow_any else 1) <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (1-65535): {text!r}")
    return value


def _any_port(text: str) -> int:
    return _port(text, allow_any=True)


def _directory(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {text!r}")
    return path


def _shop_ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids or not all(part.isdigit() for part in ids):
        raise argparse.ArgumentTypeError(f"shop ids are numbers separated by commas: {text!r}")
    return ids


def _shop_id(text: str) -> str:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a shop id is a number (the end of gid://shopify/Shop/<id>): {text!r}")
    return text


def _database_url(text: str) -> str:
    from revcert.warehouse.connection import check_dsn

    try:
        return check_dsn(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="revcert", description="Certified revenue pipelines on Apache Airflow.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the certified_mrr DAG end to end and print the certified bridge")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--snapshot", type=_directory, help="org snapshot directory, served through the stand-in")
    source.add_argument("--salesforce-conn", help="Airflow connection id of a Salesforce org")
    run.add_argument("--as-of", type=_date, help="as-of date (default: today in the business timezone)")
    run.add_argument("--database-url", type=_database_url, help="warehouse (default: the embedded server)")
    run.add_argument("--full", action="store_true", help="ignore the watermarks and read everything")

    shop = commands.add_parser("shop", help="Shopify daily order revenue")
    shop_commands = shop.add_subparsers(dest="shop_command", required=True)
    shop_run = shop_commands.add_parser("run", help="run the shop_daily_revenue DAG end to end and print the report")
    shops_source = shop_run.add_mutually_exclusive_group(required=True)
    shops_source.add_argument("--snapshot", type=_directory, help="shops snapshot directory, served by the stand-in")
    shops_source.add_argument("--shopify-conn", help="Airflow connection id listing the shops and their tokens")
    shop_run.add_argument("--as-of", type=_date, help="last local day covered (default: today in the business "
                                                      "timezone)")
    shop_run.add_argument("--database-url", type=_database_url, help="warehouse (default: the embedded server)")
    shop_run.add_argument("--refund-date-shops", type=_shop_ids, default=[],
                          help="shop ids whose refunds count on their own date, for this run (comma separated)")
    shop_run.add_argument("--full", action="store_true", help="ignore the watermarks; recompute every day")

    generate = commands.add_parser("generate-org", help="write a synthetic CPQ org snapshot")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--accounts", type=_positive, default=2000)
    generate.add_argument("--lines", type=_positive, help="keep adding customers until this many lines exist")
    generate.add_argument("--seed", type=int, default=20260101)
    generate.add_argument("--if-missing", action="store_true", help="do nothing when --out already holds an org")

    audit = shop_commands.add_parser("audit", help="compare one shop's published days with the source; "
                                                   "--repair recomputes and certifies them")
    audit.add_argument("--shop", required=True, type=_shop_id, help="the shop's id (the number in its gid)")
    audit.add_argument("--from", dest="first_day", type=_date, required=True, help="first local day")
    audit.add_argument("--to", dest="last_day", type=_date, required=True, help="last local day (inclusive)")
    audit.add_argument("--repair", action="store_true",
                       help="when a day differs: run shop_daily_revenue for this shop and range, then audit again")
    audit.add_argument("--database-url", type=_database_url, help="warehouse (default: the embedded server)")
    audit.add_argument("--shopify-conn", help="Airflow connection listing the shops and their tokens "
                                              "(default: REVCERT_SHOPIFY_CONN_ID)")
    generate_shops = commands.add_parser("generate-shops", help="write a synthetic Shopify snapshot")
    generate_shops.add_argument("--out", type=Path, required=True)
    generate_shops.add_argument("--shops", type=_positive, default=12)
    generate_shops.add_argument("--orders", type=_positive, default=6000)
    generate_shops.add_argument("--seed", type=int, default=20260101)
    generate_shops.add_argument("--if-missing", action="store_true", help="do nothing when --out holds a snapshot")

    standin = commands.add_parser("standin", help="serve a snapshot through a source's wire protocol")
    standin_kinds = standin.add_subparsers(dest="standin", required=True)
    salesforce = standin_kinds.add_parser("salesforce")
    salesforce.add_argument("--snapshot", type=_directory, required=True)
    salesforce.add_argument("--port", type=_any_port, default=0)
    salesforce.add_argument("--page-size", type=_positive, default=2000)
    shopify = standin_kinds.add_parser("shopify")
    shopify.add_argument("--snapshot", type=_directory, required=True)
    shopify.add_argument("--port", type=_any_port, default=0)

    db = commands.add_parser("db", help="the warehouse database")
    db.add_argument("action", choices=["start", "stop", "url", "migrate", "viz-login"])
    db.add_argument("name", nargs="?", help="viz-login: the login role to create (password: REVCERT_VIZ_PASSWORD)")
    db.add_argument("--database-url", type=_database_url)

    lease = commands.add_parser("lease", help="the warehouse lease: who holds it, and releasing it by hand")
    lease.add_argument("action", choices=["show", "release"])
    lease.add_argument("--force", action="store_true", help="release: required, it ends another run's hold")
    lease.add_argument("--reason", default="released by hand", help="release: why, kept in the history")
    lease.add_argument("--database-url", type=_database_url)

    incident = commands.add_parser("incident", help="the incident ledger: anomalies, failed checks, discrepancies")
    incident_commands = incident.add_subparsers(dest="incident_command", required=True)
    listing = incident_commands.add_parser("list", help="the incidents, open first")
    listing.add_argument("--status", choices=("open", "acknowledged", "resolved"), help="only incidents in this status")
    resolve = incident_commands.add_parser("resolve", help="resolve an incident with a note; a hold no longer holds")
    resolve.add_argument("incident_id", type=_positive)
    resolve.add_argument("--note", required=True, help="why (kept, and shown where the incident is suppressed)")
    resolve.add_argument("--expected-until", type=_date,
                         help="the change was expected: the same anomaly is recorded, not held or paged, through "
                              "this date (YYYY-MM-DD)")
    acknowledge = incident_commands.add_parser("acknowledge", help="say someone is on it (a hold still holds)")
    acknowledge.add_argument("incident_id", type=_positive)
    for ledger_command in (resolve, acknowledge):
        ledger_command.add_argument("--by", help="who (default: your user name)")
    for ledger_command in (listing, resolve, acknowledge):
        ledger_command.add_argument("--database-url", type=_database_url)

    roles = commands.add_parser("roles", help="the Finance viewer and Operator roles in Airflow's FAB auth manager")
    roles.add_argument("action", choices=["sync"])

    ui = commands.add_parser("ui", help="the Airflow UI (airflow standalone) with the DAGs, connections and page")
    ui.add_argument("--port", type=_port, default=8080)

    bench = commands.add_parser("bench", help="time and peak memory of every step of both pipelines on generated data")
    bench.add_argument("--pipeline", choices=("salesforce", "shops", "both"), default="both")
    bench.add_argument("--lines", type=_positive, default=100_000, help="subscription lines of the generated org")
    bench.add_argument("--shops", type=_positive, default=100, help="generated shops")
    bench.add_argument("--orders", type=_positive, default=1_000_000, help="generated orders across the shops")
    bench.add_argument("--as-of", type=_date, default=date(2026, 11, 21))
    return parser


def _as_of(requested: date | None, settings: Settings) -> date:
    from revcert.orchestration.as_of import FutureAsOfDate, business_today, refuse_future

    try:
        return refuse_future(requested or business_today(settings.business_timezone), settings.business_timezone)
    except FutureAsOfDate as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def command_run(args: argparse.Namespace) -> int:
    from revcert.local.run import RunStopped, run_certified_mrr
    from revcert.snapshots.salesforce_snapshot import SnapshotError

    settings = Settings()
    as_of = _as_of(args.as_of, settings)
    try:
        result = run_certified_mrr(snapshot=args.snapshot, salesforce_conn=args.salesforce_conn,
                                   database_url=args.database_url, as_of=as_of, full=args.full, settings=settings)
    except RunStopped as stopped:
        print(f"certified_mrr: stopped. {stopped}", file=sys.stderr)
        return 1
    except SnapshotError as error:
        raise Refused(f"the snapshot cannot be served: {error}") from error
    not_green = {task: state for task, state in result.task_states.items() if state != "success"}
    print(f"certified_mrr: {result.state} (certification {result.certification_id}, "
          f"{result.certification_status or 'no record'})"
          + (f"; {', '.join(f'{t} {s}' for t, s in sorted(not_green.items()))}" if not_green else ""))
    print(result.extraction_audit)
    if result.certified:
        print(result.report)
    else:
        for message in result.slack_messages:
            print(f"\nSlack message:\n{message}")
        print("\nNothing was published by this run; the figures published before are unchanged.")
    print(f"\nAirflow's log of the run: {result.log_file}\n"
          "Next: `make ui` to see the run in Airflow; the certified figures are in viz (`revcert db url`), "
          "the checks in certification.check_result.")
    return 0 if result.certified else 1


def command_shop(args: argparse.Namespace) -> int:
    return command_shop_audit(args) if args.shop_command == "audit" else command_shop_run(args)


def _print_audit(audit, shop_id: str, first_day: date, last_day: date) -> None:
    from revcert.reconciliation.shop_comparison import comparison_table

    print(f"Shop {shop_id}, {first_day} to {last_day}: {len(audit.discrepancies)} of {len(audit.comparisons)} "
          f"day(s) differ from the source (reconciliation {audit.summary.reconciliation_run_id})")
    print(comparison_table(audit.comparisons, limit=len(audit.comparisons)))


def command_shop_audit(args: argparse.Namespace) -> int:
    """Exit 0 when every day equals the source (after the repair, with --repair), 1 when one differs."""
    from revcert.extraction.shopify_client import shops_from_airflow_connection
    from revcert.local.run import RunStopped
    from revcert.local.shop_run import run_shop_daily_revenue
    from revcert.reconciliation.audit import audit_shop
    from revcert.warehouse import migrate
    from revcert.warehouse.connection import warehouse_dsn

    settings = Settings()
    if args.first_day > args.last_day:
        raise argparse.ArgumentTypeError(f"--from {args.first_day} is after --to {args.last_day}")
    as_of = _as_of(args.last_day, settings)
    conn_id = args.shopify_conn or settings.shopify_conn_id
    access = next((a for a in shops_from_airflow_connection(conn_id) if a.shop_id == args.shop), None)
    if access is None:
        raise Refused(f"shop {args.shop} is not in the Shopify connection {conn_id!r}")
    dsn = warehouse_dsn(args.database_url, settings)
    migrate.upgrade(dsn)
    audit = audit_shop(dsn, access, args.first_day, args.last_day, settings)
    _print_audit(audit, args.shop, args.first_day, args.last_day)
    if not audit.discrepancies or not args.repair:
        return 1 if audit.discrepancies else 0
    print(f"\nRepairing: shop_daily_revenue for shop {args.shop}, {args.first_day} to {args.last_day} ...")
    try:
        run = run_shop_daily_revenue(shopify_conn=conn_id, database_url=dsn, as_of=max(as_of, _as_of(None, settings)),
                                     shops=[args.shop], days=(args.first_day, args.last_day), settings=settings)
    except RunStopped as stopped:
        print(f"shop_daily_revenue: stopped. {stopped}", file=sys.stderr)
        return 1
    for shop in run.shops:
        print(f"shop_daily_revenue: shop {shop.shop_id} {shop.status}, certification {shop.certification_id}"
              + ("" if shop.published else f", NOT published: {shop.why}"))
    if not run.certified:
        print(f"The repair was not certified; the published figures are unchanged. Airflow's log: {run.log_file}")
        return 1
    print()
    after = audit_shop(dsn, access, args.first_day, args.last_day, settings)
    _print_audit(after, args.shop, args.first_day, args.last_day)
    return 1 if after.discrepancies else 0


def command_shop_run(args: argparse.Namespace) -> int:
    from revcert.local.run import RunStopped
    from revcert.local.shop_run import run_shop_daily_revenue
    from revcert.snapshots.shopify_snapshot import ShopifySnapshotError

    settings = Settings()
    as_of = _as_of(args.as_of, settings)
    try:
        result = run_shop_daily_revenue(snapshot=args.snapshot, shopify_conn=args.shopify_conn,
                                        database_url=args.database_url, as_of=as_of,
                                        refund_date_shops=args.refund_date_shops, full=args.full, settings=settings)
    except RunStopped as stopped:
        print(f"shop_daily_revenue: stopped. {stopped}", file=sys.stderr)
        return 1
    except ShopifySnapshotError as error:
        raise Refused(f"the snapshot cannot be served: {error}") from error
    print(f"shop_daily_revenue: {result.state}; {len(result.shops) - len(result.failed_shops)} of "
          f"{len(result.shops)} shop(s) certified and published")
    for shop in result.failed_shops:
        print(f"  shop {shop.shop_id} NOT published (certification {shop.certification_id}, {shop.status}): "
              f"{shop.why}")
    print(result.report)
    for message in result.slack_messages if result.failed_shops else []:
        print(f"\nSlack message:\n{message}")
    print(f"\nAirflow's log of the run: {result.log_file}")
    return 0 if result.certified else 1


def command_generate(args: argparse.Namespace) -> int:
    from revcert.snapshots.salesforce_generator import OrgShape, generate_org

    if args.if_missing and (args.out / "SBQQ__Subscription__c.jsonl").exists():
        print(f"org already at {args.out}")
        return 0
    started = time.monotonic()
    counts = generate_org(args.out, OrgShape(accounts=args.accounts, lines=args.lines, seed=args.seed))
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    print(f"generated org in {args.out} in {time.monotonic() - started:.1f}s: {summary}")
    return 0


def command_generate_shops(args: argparse.Namespace) -> int:
    from revcert.snapshots.shopify_generator import ShopShape, generate_shops
    from revcert.snapshots.shopify_snapshot import ORDERS_FILE

    if args.if_missing and (args.out / ORDERS_FILE).exists():
        print(f"shops already at {args.out}")
        return 0
    started = time.monotonic()
    counts = generate_shops(args.out, ShopShape(shops=args.shops, orders=args.orders, seed=args.seed))
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    print(f"generated shops in {args.out} in {time.monotonic() - started:.1f}s: {summary}")
    return 0


def command_standin(args: argparse.Namespace) -> int:
    if args.standin == "shopify":
        from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore

        with ShopifyStandIn(ShopifyStore.from_snapshot(args.snapshot), port=args.port) as shopify:
            return _serve({"url": shopify.url, "ca_bundle": str(shopify.ca_bundle),
                           "airflow_connection": json.loads(shopify.airflow_connection())})
    from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn

    standin = SalesforceStandIn(SalesforceOrg.from_snapshot(args.snapshot), port=args.port, page_size=args.page_size)
    with standin:
        return _serve(standin.login())


def _serve(where: dict) -> int:
    """Say where a stand-in listens (one JSON line, for scripts and the benchmark), then serve until Ctrl-C."""
    print(json.dumps(where), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def command_db(args: argparse.Namespace) -> int:
    from revcert.warehouse import migrate
    from revcert.warehouse.connection import describe, embedded_server, warehouse_dsn
    from revcert.warehouse.roles import ensure_viz_login

    if args.action == "stop":
        embedded_server().stop()
        print("embedded PostgreSQL stopped")
        return 0
    dsn = warehouse_dsn(args.database_url)
    if args.action == "migrate":
        migrate.upgrade(dsn)
        print(f"warehouse {describe(dsn)} at revision {migrate.current_revision(dsn)}")
    elif args.action == "viz-login":
        if not args.name:
            raise argparse.ArgumentTypeError("viz-login needs the login role's name")
        password = Settings().viz_password
        ensure_viz_login(dsn, args.name, password.get_secret_value() if password else None)
        print(f"login {args.name} can read viz and nothing else")
    else:
        print(dsn)
    return 0


def command_lease(args: argparse.Namespace) -> int:
    from revcert.certification.record import abandon_certification
    from revcert.warehouse.connection import connect, warehouse_dsn
    from revcert.warehouse.lease import force_release, read_lease

    # Refused before the warehouse is reached: without --database-url that would start the local one.
    if args.action == "release" and not args.force:
        raise argparse.ArgumentTypeError("release ends another run's hold on the warehouse: add --force")
    dsn = warehouse_dsn(args.database_url)
    if args.action == "show":
        print(read_lease(dsn).describe())
        return 0
    operator = os.environ.get("USER") or getpass.getuser()
    state = force_release(dsn, operator, args.reason)
    if state.holder is None:
        print("nobody held the warehouse; nothing to release")
        return 0
    if state.holder.certification_id is not None:
        with connect(dsn) as conn:
            abandon_certification(conn, state.holder.certification_id,
                                  f"the warehouse lease was released by {operator}: {args.reason}")
    print(f"released the warehouse from {state.holder.name} (held since {state.acquired_at:%Y-%m-%d %H:%M:%S %Z}); "
          "recorded in certification.warehouse_lease_event")
    return 0


def _incident_table(incidents) -> str:
    from tabulate import tabulate

    rows = [(i.incident_id, i.status + (", holding" if i.is_holding else ""), i.kind, i.dag_id, i.rule, i.subject,
             i.severity, i.runs_affected, f"{i.first_seen_at:%Y-%m-%d %H:%M}", f"{i.last_seen_at:%Y-%m-%d %H:%M}",
             "; ".join(filter(None, [i.resolution_note, i.resolved_by and f"by {i.resolved_by}",
                                     i.expected_until and f"expected until {i.expected_until}"])) or i.summary)
            for i in incidents]
    return tabulate(rows, headers=("id", "status", "kind", "pipeline", "rule", "subject", "severity", "runs",
                                   "first seen", "last seen", "resolution, else what was seen"),
                    disable_numparse=True, maxcolwidths=[None] * 10 + [70])


def command_incident(args: argparse.Namespace) -> int:
    """Exit 0 done as asked, 1 when the ledger refuses it (an unknown incident, acknowledging a resolved one)."""
    import psycopg

    from revcert.monitoring.ledger import (
        IncidentRefused,
        acknowledge_incident,
        list_incidents,
        read_incident,
        resolve_incident,
    )
    from revcert.orchestration.as_of import business_today
    from revcert.warehouse.connection import connect, warehouse_dsn

    today = business_today(Settings().business_timezone)
    if getattr(args, "expected_until", None) and args.expected_until < today:
        raise argparse.ArgumentTypeError(f"--expected-until {args.expected_until} has passed (today is {today}): "
                                         "it would suppress nothing")
    operator = getattr(args, "by", None) or os.environ.get("USER") or getpass.getuser()
    dsn = warehouse_dsn(args.database_url)
    try:
        with connect(dsn) as conn:
            if args.incident_command == "list":
                incidents = list_incidents(conn, args.status)
                print(_incident_table(incidents) if incidents else " ".join(filter(None, ["no", args.status,
                                                                                          "incidents"])))
                return 0
            if args.incident_command == "acknowledge":
                incident = acknowledge_incident(conn, args.incident_id, operator)
                print(f"incident {incident.incident_id} acknowledged by {operator}"
                      + ("; it still holds its pipeline until it is released or resolved" if incident.is_holding
                         else ""))
                return 0
            was_holding = read_incident(conn, args.incident_id).is_holding
            incident = resolve_incident(conn, args.incident_id, args.note, operator, args.expected_until)
    except IncidentRefused as refused:
        raise Refused(str(refused)) from refused
    except psycopg.errors.UndefinedTable as missing:
        raise Refused(f"the warehouse has no incident ledger yet (run `revcert db migrate`): {missing}") from missing
    print(f"incident {incident.incident_id} resolved by {operator}: {incident.resolution_note}"
          + (f"; the same anomaly is recorded, not held or paged, through {incident.expected_until}"
             if incident.expected_until else "")
          + ("; it no longer holds its pipeline: the next run goes on" if was_holding else ""))
    return 0


def command_roles(args: argparse.Namespace) -> int:
    from revcert.ui.roles import sync_roles

    for role, change in sync_roles().items():
        print(f"{role}: {len(change['added'])} permissions added, {len(change['removed'])} removed")
    return 0


def command_bench(args: argparse.Namespace) -> int:
    from revcert.bench.salesforce import run_salesforce_benchmark
    from revcert.bench.shops import run_shops_benchmark

    if args.pipeline in ("salesforce", "both"):
        print(run_salesforce_benchmark(args.lines, args.as_of), flush=True)
    if args.pipeline in ("shops", "both"):
        print(run_shops_benchmark(args.shops, args.orders, args.as_of), flush=True)
    return 0


def command_ui(args: argparse.Namespace) -> int:
    from revcert.local.standalone import local_airflow
    from revcert.snapshots.salesforce_generator import OrgShape, generate_org
    from revcert.snapshots.shopify_generator import ShopShape, generate_shops

    settings = Settings()
    org_dir, shops_dir = settings.home / "demo-org", settings.home / "demo-shops"
    if not (org_dir / "SBQQ__Subscription__c.jsonl").exists():
        generate_org(org_dir, OrgShape())
    if not (shops_dir / "orders.jsonl").exists():
        generate_shops(shops_dir, ShopShape())
    airflow = local_airflow(settings, org_dir, shops_dir, args.port)
    started_postgres = not airflow.postgres.is_running()
    airflow.postgres.start()
    try:
        airflow.prepare()
        print("Certifying both pipelines once as of today, so the page has data (a minute or two)...", flush=True)
        print(airflow.demo_run(), flush=True)
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": command_run, "shop": command_shop, "generate-org": command_generate,
    "generate-shops": command_generate_shops, "standin": command_standin, "db": command_db,
    "lease": command_lease, "incident": command_incident, "roles": command_roles, "bench": command_bench,
    "ui": command_ui,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from pydantic import ValidationError

    from revcert.certification.shop_day_revenue import ShopRuleError
    from revcert.extraction.errors import ExtractionError
    from revcert.snapshots.salesforce_snapshot import SnapshotError
    from revcert.snapshots.shopify_snapshot import ShopifySnapshotError
    from revcert.warehouse.connection import WarehouseUnreachable

    try:
        return COMMANDS[args.command](args)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    except ValidationError as error:
        parser.error(f"bad REVCERT_* setting: {error}")
    except (Refused, ExtractionError, ShopRuleError, SnapshotError, ShopifySnapshotError,
            WarehouseUnreachable) as error:
        print(f"revcert {args.command}: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
