"""The warehouse lease: one run at a time, and a run that is gone holds nothing for long."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest

from revcert.warehouse.lease import (
    LeaseHolder,
    LeaseLost,
    LeaseUnavailable,
    acquire_lease,
    force_release,
    heartbeat,
    read_lease,
    release_lease,
    renew_lease,
)

pytestmark = pytest.mark.integration
FIRST, SECOND = LeaseHolder.of_dag_run("certified_mrr", "first"), LeaseHolder.of_dag_run("certified_mrr", "second")


def silence(url: str, seconds: int) -> None:
    """Pretend the holder's last heartbeat was `seconds` ago."""
    with psycopg.connect(url) as conn:
        conn.execute("update certification.warehouse_lease set heartbeat_at = now() - make_interval(secs => %s) "
                     "where lease_name = 'certified_mrr'", [seconds])


def events(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select event, holder, previous_holder from certification.warehouse_lease_event "
                            "order by event_id").fetchall()


def test_the_second_run_waits_saying_who_holds_the_warehouse_and_since_when(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    said: list[str] = []
    with pytest.raises(LeaseUnavailable, match="held by certified_mrr/first since"):
        acquire_lease(warehouse_url, SECOND, wait_seconds=1.5, poll_seconds=0.2, report_every_seconds=0.5,
                      on_wait=said.append, is_alive=lambda holder: True)
    assert said and all("held by certified_mrr/first since" in s and "last heartbeat" in s for s in said)
    assert read_lease(warehouse_url).holder.name == FIRST.name


def test_the_holder_releases_and_the_next_takes_it(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    waiter = threading.Thread(target=acquire_lease, args=(warehouse_url, SECOND), kwargs={"poll_seconds": 0.1})
    waiter.start()
    time.sleep(0.5)
    assert read_lease(warehouse_url).holder.name == FIRST.name
    assert release_lease(warehouse_url, FIRST)
    waiter.join(timeout=10)
    assert read_lease(warehouse_url).holder.name == SECOND.name
    assert [e[0] for e in events(warehouse_url)] == ["acquired", "released", "acquired"]


def test_a_holder_airflow_says_has_ended_is_taken_over_at_once(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    started = time.monotonic()
    taken = acquire_lease(warehouse_url, SECOND, is_alive=lambda holder: holder.run_id != "first")
    assert time.monotonic() - started < 5
    assert "certified_mrr/first: its Airflow run has ended" in taken
    assert events(warehouse_url)[-1] == ("taken_over", SECOND.name, FIRST.name)


def test_a_silent_holder_nothing_vouches_for_is_taken_over_after_the_stale_time(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    with pytest.raises(LeaseUnavailable):
        acquire_lease(warehouse_url, SECOND, stale_seconds=60, wait_seconds=0.5, poll_seconds=0.1)
    silence(warehouse_url, 61)
    taken = acquire_lease(warehouse_url, SECOND, stale_seconds=60, wait_seconds=5, poll_seconds=0.1)
    assert "no heartbeat for 61s" in taken


def test_a_silent_holder_airflow_still_runs_keeps_the_lease_until_the_orphan_time(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    silence(warehouse_url, 300)
    with pytest.raises(LeaseUnavailable):
        acquire_lease(warehouse_url, SECOND, is_alive=lambda holder: True, stale_seconds=60, orphan_seconds=1800,
                      wait_seconds=0.5, poll_seconds=0.1)
    silence(warehouse_url, 1801)
    assert "longer than any run waits" in acquire_lease(warehouse_url, SECOND, is_alive=lambda holder: True,
                                                        stale_seconds=60, orphan_seconds=1800, wait_seconds=5)


def test_a_heartbeat_keeps_a_working_holder_alive_and_notices_a_takeover(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    silence(warehouse_url, 120)
    with heartbeat(warehouse_url, FIRST, every_seconds=0.1):
        time.sleep(0.3)
        assert read_lease(warehouse_url).silent_seconds < 5
    with pytest.raises(LeaseLost):
        with heartbeat(warehouse_url, FIRST, every_seconds=0.1):
            acquire_lease(warehouse_url, SECOND, is_alive=lambda holder: False)
            time.sleep(0.5)
    with pytest.raises(LeaseLost, match="another run took it over"):
        renew_lease(warehouse_url, FIRST)


def test_an_operator_can_force_the_warehouse_free_and_it_is_recorded(warehouse_url):
    acquire_lease(warehouse_url, FIRST)
    state = force_release(warehouse_url, "oncall", "the worker was lost")
    assert state.holder.name == FIRST.name and read_lease(warehouse_url).holder is None
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select event, previous_holder, reason from certification.warehouse_lease_event "
                            "order by event_id desc limit 1").fetchone() == (
            "force_released", FIRST.name, "oncall: the worker was lost")
