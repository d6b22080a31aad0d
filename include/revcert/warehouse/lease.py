"""The warehouse lease: one pipeline run at a time works on the warehouse.

A scheduled run, a manual run, a backfill and a command-line extraction all
take the same lease before they touch staging, the mart or viz, and give it
back at the end; whoever comes second waits. The lease is a row in the
warehouse, taken by one atomic statement, so it holds across the separate
processes of an Airflow run (which a session advisory lock cannot). A holder
that stops renewing it for `stale_after_seconds` (a crashed run) loses it.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import psycopg

from revcert.sqlfiles import load_sql


class LeaseUnavailable(RuntimeError):
    """Another run held the warehouse for longer than this one would wait."""


class LeaseLost(RuntimeError):
    """This run no longer holds the warehouse (it went stale and another run took it)."""


def acquire_lease(url: str, holder: str, certification_id: int | None = None, *, wait_seconds: float = 7200,
                  stale_after_seconds: float = 10800, poll_seconds: float = 2) -> None:
    """Take the warehouse for `holder`, waiting while another live run has it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with psycopg.connect(url) as conn:
            taken = conn.execute(load_sql("certification", "take_warehouse_lease"),
                                 {"holder": holder, "certification_id": certification_id,
                                  "stale_after_seconds": stale_after_seconds}).fetchone()
            if taken:
                return
            current = conn.execute("select holder_run_id, acquired_at from certification.warehouse_lease "
                                   "where lease_name = 'warehouse'").fetchone()
        if time.monotonic() >= deadline:
            raise LeaseUnavailable(f"the warehouse has been held by {current[0]} since {current[1]:%Y-%m-%d %H:%M:%S}Z; "
                                   f"waited {wait_seconds:.0f}s")
        time.sleep(poll_seconds)


def renew_lease(url: str, holder: str) -> None:
    """Confirm `holder` still has the warehouse and push its expiry back."""
    with psycopg.connect(url) as conn:
        renewed = conn.execute("update certification.warehouse_lease set heartbeat_at = now() "
                               "where lease_name = 'warehouse' and holder_run_id = %s", [holder]).rowcount
    if not renewed:
        raise LeaseLost(f"{holder} no longer holds the warehouse lease; another run took it over")


def release_lease(url: str, holder: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("update certification.warehouse_lease set holder_run_id = null, certification_id = null, "
                     "acquired_at = null, heartbeat_at = null where lease_name = 'warehouse' and holder_run_id = %s",
                     [holder])


@contextmanager
def warehouse_lease(url: str, holder: str, **options: float) -> Iterator[None]:
    acquire_lease(url, holder, **options)
    try:
        yield
    finally:
        release_lease(url, holder)
