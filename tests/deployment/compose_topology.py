"""docker-compose.yaml booted as real processes on loopback, with no Docker engine: Debian's redis-server
for the `redis` service, an embedded PostgreSQL for `airflow-metadata` and `warehouse`, and an `airflow`
process for every Airflow service, each worker replica a process of its own.

Every process gets exactly the environment the compose file gives its service, with the env file the
test fills in as an operator fills in `.env` (service names as hosts). What a container would make
different is translated, and nothing else: each service's host and port become 127.0.0.1 and a free
port, image paths become this checkout's, and each worker replica gets the hostname and log-server port
a container of its own would have.
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
# In the order compose starts them: the api-server, scheduler, dag-processor and triggerer once init has
# completed; the workers once the api-server is healthy.
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
WORKER_SERVICES = ("airflow-worker-extraction", "airflow-worker-warehouse")
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

    return _VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal_all(processes: list[psutil.Process], number: int) -> None:
    for process in processes:
        try:
            process.send_signal(number)
        except psutil.NoSuchProcess:
            pass


@dataclass
class Process:
    service: str
    name: str
    popen: subprocess.Popen
    log: Path

    def kill_as_a_lost_machine(self) -> None:
        """SIGKILL to the process and everything it started (task runners have process groups of their own):
        a container killed, a machine gone. Stopped first, so nothing forks its way out meanwhile."""
        _signal_all(_tree(self.popen.pid), signal.SIGSTOP)
        _signal_all(_tree(self.popen.pid), signal.SIGKILL)
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
        self.ports["airflow-apiserver"] = free_port()

    def here(self, value: str) -> str:
        """A value naming compose's services (`@warehouse:5432/`, `http://airflow-apiserver:8080/`) as this
        machine's processes."""
        postgres, redis, api = self.ports["postgres"], self.ports["redis"], self.ports["airflow-apiserver"]
        hosts = {"airflow-metadata": postgres, "airflow-metadata:5432": postgres, "warehouse:5432": postgres,
                 "warehouse": postgres, "redis:6379": redis, "airflow-apiserver:8080": api}
        return re.sub(r"(?<=[@/])(airflow-metadata|warehouse|redis|airflow-apiserver)(:\d+)?(?=[/]|$)",
                      lambda m: f"127.0.0.1:{hosts[m.group(0)]}" if m.group(0) in hosts else m.group(0), value)

    def environment(self, service: str) -> dict[str, str]:
        """The service's environment from the compose file and the env file, translated to this machine."""
        definition = self.compose["services"][service]
        merged = dict(self.env_file) if ".env" in definition.get("env_file", []) else {}
        merged.update({name: interpolate(str(value), self.env_file)
                       for name, value in definition.get("environment", {}).items()})
        return {
            # Only what a container's image or runtime would make different:
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", str(self.home)),
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(IMAGE_PATHS["/opt/airflow/dags"]),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(IMAGE_PATHS["/opt/airflow/plugins"]),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **{name: self.here(value) for name, value in merged.items()},
        }

    def init(self, timeout: float = 600) -> None:
        """The one-off airflow-init service: its command, run to completion."""
        definition = self.compose["services"]["airflow-init"]
        assert definition["entrypoint"] == "/bin/bash" and definition["command"][0] == "-c"
        log = self.home / "airflow-init.log"
        with log.open("w") as out:
            init = subprocess.Popen(["/bin/bash", "-c", definition["command"][1]], env=self.environment("airflow-init"),
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                status = init.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(init.pid, signal.SIGKILL)
                raise
        assert status == 0, log.read_text()[-4000:]

    def airflow(self, *args: str) -> None:
        """An `airflow` command, as an operator runs it in the airflow-init service's environment."""
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.environment("airflow-init"),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    def start(self, service: str, replica: int = 1) -> Process:
        """One process of an Airflow service: `airflow <its command>`."""
        command = self.compose["services"][service]["command"].split()
        name = f"{service}-{replica}"
        if command[0] == "api-server":
            command += ["--host", "127.0.0.1", "--port", str(self.ports["airflow-apiserver"])]
        if command[:2] == ["celery", "worker"]:
            command += ["--celery-hostname", f"{name}@%h"]
        log = self.home / f"{name}.log"
        popen = subprocess.Popen([sys.executable, "-m", "airflow", *command], env=self.environment(service),
                                 stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(service, name, popen, log)
        self.processes.append(process)
        return process

    def replicas(self, service: str) -> int:
        return self.compose["services"][service].get("deploy", {}).get("replicas", 1)

    def boot(self, after_init: Callable[[], None] = lambda: None, timeout: float = 300) -> None:
        """The Airflow services in the order compose's depends_on gives. `after_init` runs between init and
        the rest (FAB's CLI and a starting Airflow process both sync FAB's permissions, and collide when they
        do it at once)."""
        self.init()
        after_init()
        for service in AIRFLOW_SERVICES:
            self.start(service)
        health = self.compose["services"]["airflow-apiserver"]["healthcheck"]["test"][-1].replace(
            "localhost:8080", f"127.0.0.1:{self.ports['airflow-apiserver']}")
        deadline = time.monotonic() + timeout
        while not self._answers(health):
            self._assert_alive()
            assert time.monotonic() < deadline, "the api-server never became healthy"
            time.sleep(1)
        for service in WORKER_SERVICES:
            for replica in range(1, self.replicas(service) + 1):
                self.start(service, replica)
        while not all(" ready." in p.log.read_text(errors="replace") for p in self.workers()):
            self._assert_alive()
            assert time.monotonic() < deadline, "the workers never became ready"
            time.sleep(1)

    def _assert_alive(self) -> None:
        for process in self.processes:
            assert process.popen.poll() is None, process.log.read_text(errors="replace")[-4000:]

    def workers(self) -> list[Process]:
        return [p for p in self.processes if p.service in WORKER_SERVICES]

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        """Every process started here, with everything it started: asked to stop, then killed."""
        try:
            trees = [tree for process in self.processes for tree in _tree(process.popen.pid)]
            _signal_all(trees, signal.SIGTERM)
            _gone, alive = psutil.wait_procs(trees, timeout=30)
            _signal_all(alive, signal.SIGKILL)
            psutil.wait_procs(alive, timeout=30)
            for process in self.processes:
                process.popen.poll()
        finally:
            try:
                if self.redis:
                    self.redis.terminate()
                    self.redis.wait(timeout=30)
            finally:
                if self.postgres:
                    self.postgres.stop()
