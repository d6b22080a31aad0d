"""A complete local Airflow for this project: `airflow standalone` with its metadata in the
embedded PostgreSQL, this project's DAGs and plugin, and connections to the warehouse,
the Salesforce stand-in serving a generated org, the Shopify stand-in serving
generated shops, and a local Slack receiver.

`revcert ui` (the README's `make ui`) uses it; so do the tests that need a real
scheduler (backfills) and a real login.
"""
from __future__ import annotations

import json
import os
import signal as signal_module
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import requests

from revcert.certification.record import Certification
from revcert.local.run import airflow_connection, dags_folder
from revcert.notifications.slack import named_record_ids
from revcert.settings import Settings
from revcert.standins.salesforce.server import SalesforceOrg, SalesforceStandIn
from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore
from revcert.standins.slack import SlackWebhookReceiver
from revcert.warehouse import migrate
from revcert.warehouse.connection import ensure_database
from revcert.warehouse.embedded import EmbeddedPostgres
from revcert.warehouse.roles import ensure_viz_login, login_dsn

METADATA_DATABASE = "airflow_metadata"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
VIZ_LOGIN = "revcert_viz"


def plugins_folder() -> Path:
    return Path(str(files("revcert.plugins")))


@dataclass
class LocalAirflow:
    """Everything `airflow standalone` needs, started and stopped together.

    Attributes:
        home: AIRFLOW_HOME for this Airflow (logs, config, the generated admin password).
        postgres: The embedded server holding Airflow's metadata and the warehouse.
        warehouse_database: The warehouse's database on that server.
        org: The org the Salesforce stand-in serves.
        shops: The shops the Shopify stand-in serves.
        port: The Airflow UI and API port.
    """

    home: Path
    postgres: EmbeddedPostgres
    warehouse_database: str
    org: SalesforceOrg
    shops: ShopifyStore
    port: int = 8080
    slack_record: Path | None = None
    stack: ExitStack = field(default_factory=ExitStack)
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    slack: SlackWebhookReceiver | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def warehouse_url(self) -> str:
        return self.postgres.url(self.warehouse_database)

    def prepare(self) -> dict[str, str]:
        """Start the stand-ins, create the databases and return Airflow's environment."""
        self.home.mkdir(parents=True, exist_ok=True)
        server = self.postgres.url()
        ensure_database(server, METADATA_DATABASE)
        ensure_database(server, self.warehouse_database)
        migrate.upgrade(self.warehouse_url)
        ensure_viz_login(self.warehouse_url, VIZ_LOGIN)
        settings = Settings()
        standin = self.stack.enter_context(SalesforceStandIn(self.org, state_dir=self.home / "standin"))
        shopify = self.stack.enter_context(ShopifyStandIn(self.shops, state_dir=self.home / "shopify-standin"))
        slack = self.stack.enter_context(SlackWebhookReceiver(record_file=self.slack_record))
        metadata = self.postgres.url(METADATA_DATABASE).replace("postgresql://", "postgresql+psycopg2://", 1)
        self.env = {
            **os.environ,
            # standalone starts its components as `airflow ...`: find this environment's first.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
            "AIRFLOW_CONN_" + settings.warehouse_conn_id.upper(): airflow_connection(self.warehouse_url),
            "AIRFLOW_CONN_" + settings.viz_conn_id.upper(): airflow_connection(login_dsn(self.warehouse_url,
                                                                                         VIZ_LOGIN)),
            "AIRFLOW_CONN_" + settings.salesforce_conn_id.upper(): standin.airflow_connection(),
            "AIRFLOW_CONN_" + settings.shopify_conn_id.upper(): shopify.airflow_connection(),
            "AIRFLOW_CONN_" + settings.slack_conn_id.upper(): slack.airflow_connection(),
        }
        self.slack = slack
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=self.env, check=True,
                       capture_output=True)
        return self.env

    def start(self, log_file: Path, timeout: float = 420) -> LocalAirflow:
        """Start `airflow standalone` and wait until its API answers.

        Four Airflow components start at once; on a loaded two-core machine the
        API server has taken over three minutes to answer, hence the generous wait.
        """
        log = log_file.open("a")
        self.process = subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started = time.monotonic()
        while True:
            try:
                if requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            exit_code = self.process.poll()
            if exit_code is not None or time.monotonic() - started > timeout:
                self.stop()
                why = (f"exited with code {exit_code}" if exit_code is not None
                       else f"did not answer on {self.base_url} within {timeout:.0f} s")
                # The log may not outlive the machine (CI): say its end here.
                tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-60:])
                raise RuntimeError(f"airflow standalone {why}; its log {log_file} ends:\n{tail}")
            time.sleep(1)

    def demo_run(self) -> str:
        """Certify once as of today with `airflow dags test`, both pipelines; say what came of each,
        green or not.

        A failed demo run is exactly when on-call needs the UI, so this never
        raises for it: Airflow starts anyway and the message says why the page
        is not green.
        """
        from revcert.orchestration.as_of import business_today

        as_of = business_today(Settings().business_timezone).isoformat()
        return "\n".join(self._demo_run(dag_id, as_of) for dag_id in ("certified_mrr", "shop_daily_revenue"))

    def _demo_run(self, dag_id: str, as_of: str) -> str:
        from revcert.certification.record import read_certification
        from revcert.warehouse.connection import connect

        with connect(self.warehouse_url) as conn:
            before = conn.execute("select coalesce(max(certification_id), 0) from certification.certification_run "
                                  "where dag_id = %s", [dag_id]).fetchone()[0]
        test = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", dag_id, "--conf",
                               json.dumps({"as_of": as_of})], env=self.env, capture_output=True, text=True)
        log = self.home / f"demo-run-{dag_id}.log"
        log.write_text(test.stdout + test.stderr)
        with connect(self.warehouse_url) as conn:
            # This run's records only (an earlier `make ui` may have left others): its own (scope ''), then
            # one per shop.
            records = [read_certification(conn, certification_id) for (certification_id,) in conn.execute(
                "select certification_id from certification.certification_run where dag_id = %s and run_id = "
                "(select run_id from certification.certification_run where dag_id = %s and certification_id > %s "
                "order by certification_id desc limit 1) order by scope", [dag_id, dag_id, before])]
        failed = [r for r in records if r.status != "certified" or not r.published_at]
        if records and not failed:
            return f"{dag_id}: certified and published as of {as_of} (certification {records[0].certification_id})."
        named = [r for r in failed if r.scope] or failed
        run = f" (run {records[0].run_id})" if records else ""
        why = [line for r in named for line in why_not_certified(r)] or ["  it did not open a certification record"]
        return "\n".join([f"{dag_id}: the demo run as of {as_of}{run} was NOT certified, so the page is not green:",
                          *why,
                          "The page shows the figures certified before, if any, and its history names the failed "
                          f"checks; the run's log is {log}; the page Slack got is in {self.slack_record}."])

    def admin_password(self) -> str:
        return json.loads((self.home / PASSWORDS_FILE).read_text())["admin"]

    def airflow(self, *args: str) -> subprocess.CompletedProcess:
        """Run an `airflow` command against this Airflow."""
        return subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, check=True,
                              capture_output=True, text=True)

    def stop(self) -> None:
        if self.process:
            # standalone runs the scheduler, API server and friends in its process group: ask the
            # whole group to stop, give it time, then end whatever is left of it.
            for signal, grace in ((signal_module.SIGTERM, 30), (signal_module.SIGKILL, 10)):
                try:
                    os.killpg(self.process.pid, signal)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
        self.stack.close()


def why_not_certified(record: Certification) -> list[str]:
    """A record's failed checks (with the records they name) and blocked ones, a line each, for a terminal."""
    who = f"shop {record.scope}" if record.scope else "run"
    failed, blocked = record.failed_checks, record.blocked_checks
    if not failed and not blocked:
        return [f"  {who}: {record.failure_summary or record.status}"]
    lines = [f"  {who}: failed check {c.check_name}: {c.summary}" for c in failed]
    ids = named_record_ids([record])[:5]
    if ids:
        lines.append(f"  {who}: records named: {', '.join(ids)}")
    if blocked:
        lines.append(f"  {who}: blocked, not run because an earlier step failed: "
                     f"{', '.join(c.check_name for c in blocked)} ({blocked[0].summary})")
    return lines


def local_airflow(settings: Settings, org_dir: Path, shops_dir: Path, port: int) -> LocalAirflow:
    """The `make ui` Airflow: home under REVCERT_HOME, the embedded PostgreSQL, the demo org and shops."""
    postgres = EmbeddedPostgres(settings.home / "pgdata")
    return LocalAirflow(settings.home / "airflow-ui", postgres, "revcert", SalesforceOrg.from_snapshot(org_dir),
                        ShopifyStore.from_snapshot(shops_dir), port=port,
                        slack_record=settings.home / "slack-messages.jsonl")
