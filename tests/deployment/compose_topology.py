"""docker-compose.yaml booted as real processes on loopback, with no Docker engine: Debian's redis-server
for the `redis` service, an embedded PostgreSQL for `airflow-metadata` and `warehouse`, and an `airflow`
process for every Airflow service, each worker replica a process of its own.

Every process gets exactly the environment the compose file gives its service (the env file filled by
the test). What a container would make different is translated, and nothing else: service names become
127.0.0.1 and a free port, image paths become this checkout's, and each worker replica gets the hostname
and log-server port a container of its own would have.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import requests
import yaml
from psycopg import sql

from revcert.warehouse.embedded import EmbeddedPostgres
from tests.airflow_harness import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_FILE_EXAMPLE = ROOT / ".env.example"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker-extraction", "airflow-worker-warehouse")
POSTGRES_SERVICES = ("airflow-metadata", "warehouse")
# Where the image keeps what this checkout has (Dockerfile).
IMAGE_PATHS = {"/opt/airflow/dags": ROOT / "dags", "/opt/airflow/plugins": ROOT / "plugins"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::?([?-])([^}]*))?\}")


def read_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env_file_names() -> list[str]:
    """The names .env.example asks the operator to fill in."""
    return [line.split("=", 1)[0] for line in ENV_FILE_EXAMPLE.read_text().splitlines()
            if line and not line.startswith("#")]


def interpolate(value: str, env_file: dict[str, str]) -> str:
    """Compose's variable substitution: ${NAME}, ${NAME:?error}, ${NAME:-default}, and $$ for a dollar."""
    def replace(match: re.Match) -> str:
        name, kind, default = match.groups()
        if env_file.get(name):
            return env_file[name]
        if kind == "?":
            raise KeyError(f"{name} is not set: {default}")
        return default or ""

    return _VARIABLE.sub(replace, value).replace("$$", "$")


@dataclass
class Process:
    service: str
    name: str
    popen: subprocess.Popen
    log: Path

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.popen.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill_as_a_lost_machine(self) -> None:
        """SIGKILL to the process and everything it started, at once: a container killed, a machine gone."""
        for process in self.tree():
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        self.popen.wait(timeout=30)


@dataclass
class ComposeTopology:
    """The compose file's services as processes. `env_file` plays .env; `home` plays the shared volumes."""

    home: Path
    env_file: dict[str, str]
    compose: dict = field(default_factory=read_compose)
    postgres: EmbeddedPostgres | None = None
    redis: subprocess.Popen | None = None
    processes: list[Process] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['airflow-apiserver']}"

    def database_url(self, service: str) -> str:
        """A libpq URL of a PostgreSQL service's database, as its own user."""
        env = self.compose["services"][service]["environment"]
        user, database = env["POSTGRES_USER"], env["POSTGRES_DB"]
        password = interpolate(env["POSTGRES_PASSWORD"], self.env_file)
        return f"postgresql://{user}:{password}@127.0.0.1:{self.ports['postgres']}/{database}"

    def start_data_services(self) -> None:
        """redis and the two PostgreSQL services, as their images would start them from the file."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.postgres = EmbeddedPostgres(self.home / "pgdata")
        self.ports["postgres"] = int(self.postgres.start().rsplit(":", 1)[1].split("/")[0])
        with psycopg.connect(self.postgres.url(), autocommit=True) as conn:
            for service in POSTGRES_SERVICES:
                env = self.compose["services"][service]["environment"]
                user, database = sql.Identifier(env["POSTGRES_USER"]), sql.Identifier(env["POSTGRES_DB"])
                password = sql.Literal(interpolate(env["POSTGRES_PASSWORD"], self.env_file))
                # As the image's entrypoint does: POSTGRES_USER is a superuser owning POSTGRES_DB.
                if not conn.execute("select 1 from pg_roles where rolname = %s", [env["POSTGRES_USER"]]).fetchone():
                    conn.execute(sql.SQL("create role {} login").format(user))
                conn.execute(sql.SQL("alter role {} superuser password {}").format(user, password))
                if not conn.execute("select 1 from pg_database where datname = %s", [env["POSTGRES_DB"]]).fetchone():
                    conn.execute(sql.SQL("create database {}").format(database))
                conn.execute(sql.SQL("alter database {} owner to {}").format(database, user))
        self.ports["redis"] = free_port()
        command = [interpolate(part, self.env_file) for part in self.compose["services"]["redis"]["command"]]
        assert command[0] == "redis-server", command
        self.redis = subprocess.Popen(
            ["/usr/bin/redis-server", *command[1:], "--port", str(self.ports["redis"]), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.home)],
            stdout=(self.home / "redis.log").open("w"), stderr=subprocess.STDOUT)

    def environment(self, service: str) -> dict[str, str]:
        """The service's environment from the compose file and the env file, translated to this machine."""
        definition = self.compose["services"][service]
        merged = dict(self.env_file) if ".env" in definition.get("env_file", []) else {}
        merged.update({name: interpolate(str(value), self.env_file)
                       for name, value in definition.get("environment", {}).items()})
        hosts = {"airflow-metadata": f"127.0.0.1:{self.ports['postgres']}",
                 "warehouse": f"127.0.0.1:{self.ports['postgres']}",
                 "redis:6379": f"127.0.0.1:{self.ports['redis']}",
                 "airflow-apiserver:8080": f"127.0.0.1:{self.ports['airflow-apiserver']}"}
        for name, value in merged.items():
            for host, here in hosts.items():
                value = re.sub(rf"(?<=[@/]){re.escape(host)}(?=[/:]|$)", here, value)
            merged[name] = value
        return {
            # Only what a container's image or runtime would make different:
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", str(self.home)),
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(IMAGE_PATHS["/opt/airflow/dags"]),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(IMAGE_PATHS["/opt/airflow/plugins"]),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **merged,
        }

    def init(self) -> None:
        """The one-off airflow-init service: its command, run to completion."""
        definition = self.compose["services"]["airflow-init"]
        assert definition["entrypoint"] == "/bin/bash" and definition["command"][0] == "-c"
        log = self.home / "airflow-init.log"
        with log.open("w") as out:
            done = subprocess.run(["/bin/bash", "-c", definition["command"][1]], env=self.environment("airflow-init"),
                                  stdout=out, stderr=subprocess.STDOUT, timeout=600)
        assert done.returncode == 0, log.read_text()[-4000:]

    def start(self, service: str, replica: int = 1) -> Process:
        """One process of an Airflow service: `airflow <its command>`."""
        command = self.compose["services"][service]["command"].split()
        env = self.environment(service)
        name = f"{service}-{replica}"
        if command[0] == "api-server":
            command += ["--host", "127.0.0.1", "--port", str(self.ports["airflow-apiserver"])]
        if command[:2] == ["celery", "worker"]:
            command += ["--celery-hostname", f"{name}@%h"]
        log = self.home / f"{name}.log"
        popen = subprocess.Popen([sys.executable, "-m", "airflow", *command], env=env,
                                 stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(service, name, popen, log)
        self.processes.append(process)
        return process

    def replicas(self, service: str) -> int:
        return self.compose["services"][service].get("deploy", {}).get("replicas", 1)

    def airflow(self, *args: str) -> None:
        """An `airflow` command, as an operator runs it in the airflow-init service's environment."""
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.environment("airflow-init"),
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    def boot(self, after_init: Callable[[], None] = lambda: None, timeout: float = 300) -> None:
        """Every service in the order compose's depends_on gives: init, then api-server, then the rest.
        `after_init` runs between init and the api-server (FAB's CLI and a starting api-server both sync
        FAB's permissions, and collide when they do it at once)."""
        self.ports["airflow-apiserver"] = free_port()
        self.init()
        after_init()
        self.start("airflow-apiserver")
        deadline = time.monotonic() + timeout
        while not self._answers(f"{self.api_url}/api/v2/monitor/health"):
            assert time.monotonic() < deadline, self.processes[0].log.read_text()[-4000:]
            assert self.processes[0].popen.poll() is None, self.processes[0].log.read_text()[-4000:]
            time.sleep(1)
        for service in AIRFLOW_SERVICES[1:]:
            for replica in range(1, self.replicas(service) + 1):
                self.start(service, replica)
        while not self.workers_ready():
            for process in self.processes:
                assert process.popen.poll() is None, process.log.read_text()[-4000:]
            assert time.monotonic() < deadline, "workers never became ready"
            time.sleep(1)

    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.service.startswith("airflow-worker")]

    def workers_ready(self) -> bool:
        return all(" ready." in p.log.read_text(errors="replace") for p in self.workers())

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                try:
                    os.killpg(process.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes:
            try:
                process.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill_as_a_lost_machine()
        if self.redis:
            self.redis.terminate()
            self.redis.wait(timeout=30)
        if self.postgres:
            self.postgres.stop()
