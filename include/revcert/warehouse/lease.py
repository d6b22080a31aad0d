"""The warehouse lease: one pipeline run at a time works on the warehouse.

A scheduled run, a manual run, a backfill and a command-line extraction all
take the same lease before they touch staging, the mart or viz, and give it
back at the end; whoever comes second waits. The lease is a row in the
warehouse, so it holds across the separate processes (even machines) of one
Airflow run, which a session advisory lock cannot.

A run that is gone must not hold the warehouse. While a task of the holder
works it renews a heartbeat every few seconds. A waiting run takes the lease
over when the holder is known to be gone (its DAG run has ended, as Airflow
says), or when its heartbeat has been silent for `stale_seconds` and nothing
says it is alive (a command-line holder, or a run of another Airflow), or for
`orphan_seconds` whatever Airflow says. Every change of holder is written to
`certification.warehouse_lease_event`; closing what a gone holder left open
is the new holder's job (revcert.certification.record.close_abandoned_runs).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg

from revcert.sqlfiles import load_sql
from revcert.warehouse.connection import connect

log = logging.getLogger(__name__)
# One lease per pipeline (named for its DAG): runs of one pipeline take turns; pipelines do not wait on
# each other, as they share no table they write.
MRR_LEASE = "certified_mrr"
SHOP_LEASE = "shop_daily_revenue"


class LeaseUnavailable(RuntimeError):
    """Another run held the warehouse for longer than this one would wait."""


class LeaseLost(RuntimeError):
    """This run no longer holds the warehouse (another run took it over)."""


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds (or wants) a lease: an Airflow DAG run, or a command-line process.

    Attributes:
        name: Shown to people and stored in the lease row.
        lease: Which lease (one per pipeline, named for its DAG).
        dag_id: The holder's DAG, when it is an Airflow run.
        run_id: The holder's DAG run, when it is an Airflow run.
        certification_id: The holder's certification record.
    """

    name: str
    lease: str = MRR_LEASE
    dag_id: str | None = None
    run_id: str | None = None
    certification_id: int | None = None

    @classmethod
    def of_dag_run(cls, dag_id: str, run_id: str, certification_id: int | None = None) -> LeaseHolder:
        """A DAG run holds its own pipeline's lease."""
        return cls(f"{dag_id}/{run_id}", dag_id, dag_id, run_id, certification_id)


@dataclass(frozen=True)
class LeaseState:
    holder: LeaseHolder | None
    acquired_at: datetime | None
    heartbeat_at: datetime | None
    now: datetime

    @property
    def silent_seconds(self) -> float:
        return (self.now - self.heartbeat_at).total_seconds() if self.heartbeat_at else float("inf")

    def describe(self) -> str:
        if self.holder is None:
            return "nobody holds the warehouse"
        return (f"the warehouse is held by {self.holder.name} since {self.acquired_at:%Y-%m-%d %H:%M:%S %Z} "
                f"(last heartbeat {self.silent_seconds:.0f}s ago)")


# Is this holder's run still going? True / False when Airflow knows, None when nothing can tell.
LivenessCheck = Callable[[LeaseHolder], "bool | None"]


def _read(conn: psycopg.Connection, lease: str, *, lock: bool) -> LeaseState:
    row = conn.execute(
        "select holder, holder_dag_id, holder_run_id, certification_id, acquired_at, heartbeat_at, now() "
        f"from certification.warehouse_lease where lease_name = %s{' for update' if lock else ''}", [lease]
    ).fetchone()
    if row is None:
        raise LookupError(f"no lease named {lease!r} (is the warehouse migrated?)")
    name, dag_id, run_id, certification_id, acquired_at, heartbeat_at, now = row
    holder = LeaseHolder(name, lease, dag_id, run_id, certification_id) if name else None
    return LeaseState(holder, acquired_at, heartbeat_at, now)


def read_lease(dsn: str, lease: str = MRR_LEASE) -> LeaseState:
    with connect(dsn) as conn:
        return _read(conn, lease, lock=False)


def _event(conn: psycopg.Connection, lease: str, event: str, holder: str | None, previous: str | None,
           reason: str | None = None) -> None:
    conn.execute("insert into certification.warehouse_lease_event (lease_name, event, holder, previous_holder, "
                 "reason) values (%s, %s, %s, %s, %s)", [lease, event, holder, previous, reason])


def _take(conn: psycopg.Connection, holder: LeaseHolder) -> None:
    conn.execute(load_sql("warehouse", "take_warehouse_lease"),
                 {"lease_name": holder.lease, "holder": holder.name, "dag_id": holder.dag_id, "run_id": holder.run_id,
                  "certification_id": holder.certification_id})


def _why_gone(state: LeaseState, is_alive: LivenessCheck, stale_seconds: float,
              orphan_seconds: float) -> str | None:
    """Why the current holder can be taken over, or None while it may still be working."""
    assert state.holder is not None
    alive = is_alive(state.holder)
    if alive is False:
        return f"its Airflow run has ended (last heartbeat {state.silent_seconds:.0f}s ago)"
    if alive is None and state.silent_seconds > stale_seconds:
        return f"no heartbeat for {state.silent_seconds:.0f}s and nothing says it is still running"
    if state.silent_seconds > orphan_seconds:
        return f"no heartbeat for {state.silent_seconds:.0f}s, longer than any run waits between tasks"
    return None


def acquire_lease(dsn: str, holder: LeaseHolder, *, is_alive: LivenessCheck = lambda _: None,
                  wait_seconds: float = 7200, stale_seconds: float = 60, orphan_seconds: float = 1800,
                  poll_seconds: float = 2, report_every_seconds: float = 30,
                  on_wait: Callable[[str], None] | None = None) -> str | None:
    """Take the warehouse for `holder`, waiting while another live run has it.

    Returns:
        When the lease was taken over from a gone holder, who that was and why; else None.

    Raises:
        LeaseUnavailable: it stayed held by a live run for `wait_seconds`.
    """
    deadline = time.monotonic() + wait_seconds
    reported = float("-inf")
    while True:
        with connect(dsn) as conn:
            state = _read(conn, holder.lease, lock=True)
            current = state.holder
            if current is None or current.name == holder.name:
                _take(conn, holder)
                if current is None:
                    _event(conn, holder.lease, "acquired", holder.name, None)
                return None
            why = _why_gone(state, is_alive, stale_seconds, orphan_seconds)
            if why:
                _take(conn, holder)
                _event(conn, holder.lease, "taken_over", holder.name, current.name, why)
                log.warning("Took the warehouse over from %s: %s", current.name, why)
                return f"{current.name}: {why}"
        if time.monotonic() >= deadline:
            raise LeaseUnavailable(f"{state.describe()}; waited {wait_seconds:.0f}s for it")
        if time.monotonic() - reported >= report_every_seconds:
            message = f"Waiting for the warehouse: {state.describe()}."
            log.warning(message)
            if on_wait:
                on_wait(message)
            reported = time.monotonic()
        time.sleep(poll_seconds)


def renew_lease(dsn: str, holder: LeaseHolder) -> None:
    """Confirm `holder` still has the warehouse and record a heartbeat."""
    with connect(dsn) as conn:
        renewed = conn.execute("update certification.warehouse_lease set heartbeat_at = now() "
                               "where lease_name = %s and holder = %s", [holder.lease, holder.name]).rowcount
    if not renewed:
        raise LeaseLost(f"{holder.name} no longer holds the warehouse lease; another run took it over "
                        "(see certification.warehouse_lease_event)")


def confirm_lease(conn: psycopg.Connection, holder: LeaseHolder, *, until_commit: bool = True) -> None:
    """Inside the caller's transaction: fail unless `holder` holds the warehouse, and (`until_commit`) keep it
    held until commit; without, a look that locks nothing, to stop early before the work."""
    state = _read(conn, holder.lease, lock=until_commit)
    if state.holder is None or state.holder.name != holder.name:
        raise LeaseLost(f"{holder.name} no longer holds the warehouse lease ({state.describe()})")


def release_lease(dsn: str, holder: LeaseHolder) -> bool:
    """Give the warehouse back; False when `holder` did not hold it."""
    with connect(dsn) as conn:
        released = conn.execute(load_sql("warehouse", "release_warehouse_lease"),
                                {"lease_name": holder.lease, "holder": holder.name}).rowcount
        if released:
            _event(conn, holder.lease, "released", None, holder.name)
    return bool(released)


def force_release(dsn: str, operator: str, reason: str, lease: str = MRR_LEASE) -> LeaseState:
    """An operator frees a lease, whoever holds it; returns what it was. The event names who and why."""
    with connect(dsn) as conn:
        state = _read(conn, lease, lock=True)
        if state.holder is not None:
            conn.execute(load_sql("warehouse", "release_warehouse_lease"),
                         {"lease_name": lease, "holder": state.holder.name})
            _event(conn, lease, "force_released", None, state.holder.name, f"{operator}: {reason}")
    return state


class _Heartbeat(threading.Thread):
    def __init__(self, dsn: str, holder: LeaseHolder, every_seconds: float) -> None:
        super().__init__(name="warehouse-lease-heartbeat", daemon=True)
        self.dsn, self.holder, self.every_seconds = dsn, holder, every_seconds
        self.stopping = threading.Event()
        self.lost: LeaseLost | None = None

    def run(self) -> None:
        while not self.stopping.wait(self.every_seconds):
            try:
                renew_lease(self.dsn, self.holder)
            except LeaseLost as lost:
                self.lost = lost
                log.error("%s", lost)
                return
            except Exception as error:  # a blip in the warehouse: the next beat tries again
                log.warning("Lease heartbeat failed: %s", error)


@contextmanager
def heartbeat(dsn: str, holder: LeaseHolder, every_seconds: float = 10) -> Iterator[None]:
    """While the block runs, keep telling the warehouse that `holder` is alive and working.

    Raises:
        LeaseLost: at entry or exit, if another run has taken the warehouse over.
    """
    renew_lease(dsn, holder)
    beat = _Heartbeat(dsn, holder, every_seconds)
    beat.start()
    try:
        yield
    finally:
        beat.stopping.set()
        beat.join()
    if beat.lost:
        raise beat.lost


@contextmanager
def warehouse_lease(dsn: str, holder: LeaseHolder, *, heartbeat_seconds: float = 10,
                    **options: float) -> Iterator[None]:
    """Hold the warehouse for a block of work in one process (the command line's extraction)."""
    acquire_lease(dsn, holder, **options)
    try:
        with heartbeat(dsn, holder, heartbeat_seconds):
            yield
    finally:
        release_lease(dsn, holder)
