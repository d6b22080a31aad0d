"""Certify a run (or one shop of it): the checks of METHODOLOGY.md Part C, from what it left in the warehouse.

A check that cannot run because an earlier stage failed is recorded as not
run (passed = None, "blocked") and counts as a failure: nothing is certified
unless every check ran and passed. Check 5 (shadow metrics) only reports: its
definition does not block publishing, so neither its differences nor its
failure to run fail a certification. A check that crashes is recorded as failed,
named, and the others still run.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

import psycopg
from psycopg.pq import TransactionStatus

from revcert.certification.checks import (
    check_completeness,
    check_detail_sums,
    check_independent_derivation,
    check_integrity,
    check_movement_identity,
)
from revcert.certification.detail_proofs import (
    DetailProofs,
    read_proofs,
    record_proofs,
)
from revcert.certification.fingerprint import CustomerDigests, detail_digests, figures_hash, shop_figures_hash
from revcert.certification.record import Certification, CheckResult, record_check, update_certification
from revcert.certification.shadows import SHOP_SHADOWS, check_shadow_views
from revcert.certification.shop_checks import check_shop_completeness, check_shop_derivation, check_shop_integrity
from revcert.methodology.overrides import ClassificationOverride
from revcert.settings import Settings
from revcert.warehouse.connection import beside

log = logging.getLogger(__name__)


def _not_run(check_name: str, why: str) -> CheckResult:
    return CheckResult(check_name, None, f"not run: {why}")


def _guarded(conn: psycopg.Connection, check_name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run one check in a savepoint; if it crashes, the crash is its (failed) result and the others still run."""
    try:
        with conn.transaction():
            return check()
    except psycopg.errors.QueryCanceled as error:
        return CheckResult(check_name, False, f"the check ran past the statement timeout: {error}".strip())
    except Exception as error:  # any defect or bad record: recorded and paged, never a silent crash
        log.exception("Check %s crashed", check_name)
        return CheckResult(check_name, False, f"the check could not finish: {type(error).__name__}: {error}")


def _extraction_problem(conn: psycopg.Connection, certification: Certification) -> str | None:
    if certification.extraction_batch_id is None:
        return "the extraction did not finish"
    status, error = conn.execute("select status, error from raw.extraction_batch where batch_id = %s",
                                 [certification.extraction_batch_id]).fetchone()
    if status != "staged":
        return f"batch {certification.extraction_batch_id} is {status}" + (f": {error}" if error else "")
    return None


def _conclude(conn: psycopg.Connection, certification: Certification, results: list[CheckResult],
              hashed: str | None) -> list[CheckResult]:
    """Record every result and mark the record certified (every check ran and passed) or failed.

    A certified record stays open (closed_at empty) until it is published, or
    closed as certify-only; a failed one is closed here.
    """
    for result in results:
        record_check(conn, certification.certification_id, result)
    reporting_only = {row[0] for row in conn.execute(
        "select check_name from certification.check_definition where not blocks_publishing")}
    failed = [r for r in results if r.passed is not True and r.check_name not in reporting_only]
    now = datetime.now(timezone.utc)
    if failed:
        update_certification(conn, certification.certification_id, status="failed", figures_hash=hashed,
                             failure_summary="; ".join(f"{r.check_name}: {r.summary}" for r in failed), closed_at=now)
    else:
        update_certification(conn, certification.certification_id, status="certified", figures_hash=hashed,
                             certified_at=now)
    return results


def _rebuilt_by_this_run(built: tuple | None, certification: Certification) -> bool:
    return bool(built) and built[0] == certification.certification_id


def _recorded_or_not_run(certification: Certification, check_name: str, why: str) -> CheckResult:
    """A check that could not run: the failure the build recorded for it, if any, else `not run`."""
    recorded = certification.checks.get(check_name)
    return recorded if recorded and recorded.passed is False else _not_run(check_name, why)


def certify_run(conn: psycopg.Connection, certification: Certification, settings: Settings) -> list[CheckResult]:
    """Checks 1-5 of the MRR pipeline's run (3 twice: the identity, and the detail's sums), recorded; the record
    ends certified or failed (check 5 reports only). `conn` must not be in a transaction: the checks start one."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("certify_run reads the warehouse in one snapshot: call it outside a transaction")
    # One snapshot for every check, on this connection and the one beside it: a proof then records the digest of
    # the very rows the derivation compared.
    conn.execute("set transaction isolation level repeatable read")
    results = []
    extraction_problem = _extraction_problem(conn, certification)
    if extraction_problem:
        results.append(_not_run("completeness", extraction_problem))
    else:
        results.append(_guarded(conn, "completeness",
                                lambda: check_completeness(conn, certification.extraction_batch_id)))
    built = conn.execute("select certification_id, whole_because from mart.mart_build").fetchone()
    built_whole = built is not None and built[1] is not None
    if not _rebuilt_by_this_run(built, certification):
        why = "the mart was not built by this run"
        results += [_recorded_or_not_run(certification, "integrity", why), _not_run("movement_identity", why),
                    _not_run("detail_sums", why), _not_run("independent_derivation", why),
                    _not_run("shadow_views", why)]
        return _conclude(conn, certification, results, None)
    overrides = [ClassificationOverride(**o) for o in certification.overrides_used]
    # The derivation is Python's work, the other checks and the fingerprint the server's: they run at the same
    # time, on a second connection that reads what this one does. The server hashes the detail per customer
    # first: the derivation needs it to know which customers' proofs hold, the fingerprint is made from it.
    with beside(conn) as other, ThreadPoolExecutor(1) as pool, _quick_thread_switches():
        digests = pool.submit(detail_digests, other)
        proofs = _proofs(conn, certification, settings, scoped=not built_whole, mart_digests=digests.result)
        on_the_server = pool.submit(_server_checks, other, digests, proofs)
        derivation = _guarded(conn, "independent_derivation", lambda: check_independent_derivation(
            conn, certification.as_of_date, settings.renewal_grace_days, overrides, proofs,
            settings.derivation_processes))
        (integrity, identity, detail_sums, shadows), hashed = on_the_server.result()
    if derivation.passed and detail_sums.passed:
        derivation = _with_proofs_recorded(conn, proofs, certification, derivation)
    results += [integrity, identity, detail_sums, derivation, shadows]
    return _conclude(conn, certification, results, hashed)


def _proofs(conn: psycopg.Connection, certification: Certification, settings: Settings, *, scoped: bool,
            mart_digests: Callable[[], dict[str, CustomerDigests]]) -> DetailProofs:
    """The proofs check 4 may rely on: an incremental build is checked against them, a whole one in full. Proofs
    that cannot be read are none: check 4 then compares and sums every customer, as after a whole build."""
    as_of, grace = certification.as_of_date, settings.renewal_grace_days
    try:
        with conn.transaction():
            return read_proofs(conn, as_of, grace, scoped=scoped, mart_digests=mart_digests)
    except psycopg.Error:
        log.exception("Check 4's proofs could not be read; it compares every customer")
        return read_proofs(conn, as_of, grace, scoped=False, mart_digests=mart_digests)


def _with_proofs_recorded(conn: psycopg.Connection, proofs: DetailProofs, certification: Certification,
                          derivation: CheckResult) -> CheckResult:
    """Check 4's result once its proofs are recorded; if they cannot be, the earlier proofs and sums stay as they
    were (they still hold for what they vouch for), and the result says so: the next check 4 compares and sums
    afresh every customer this one would have vouched for."""
    try:
        with conn.transaction():
            record_proofs(conn, proofs, certification.certification_id)
    except psycopg.Error as error:
        log.exception("Check 4's proofs could not be recorded")
        return replace(derivation, summary=f"{derivation.summary}; its proofs could not be recorded (the next "
                                           f"check 4 compares these customers again): {error}".strip())
    return derivation


# How long one thread may hold the interpreter while another waits for it (Python's default: 5 ms).
_SWITCH_INTERVAL = 0.0005


@contextmanager
def _quick_thread_switches() -> Iterator[None]:
    """The derivation holds the interpreter for seconds on end, while the thread beside it needs it for moments
    between the server's answers. At Python's default interval each of those moments waited up to 5 ms, and the
    server's checks took twice as long (at 200,000 lines, whole build: 15 s instead of 6.5). The interval is the
    process's: an Airflow task process certifies one run at a time."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _server_checks(conn: psycopg.Connection, digests: Future[dict[str, CustomerDigests]], proofs: DetailProofs
                   ) -> tuple[list[CheckResult], str]:
    """Checks 2, 3 (the identity and the detail's sums) and 5, and the figures' fingerprint: queries the server
    answers."""
    return [_guarded(conn, "integrity", lambda: check_integrity(conn)),
            _guarded(conn, "movement_identity", lambda: check_movement_identity(conn)),
            _guarded(conn, "detail_sums", lambda: check_detail_sums(conn, proofs.detail_changed())),
            _guarded(conn, "shadow_views", lambda: check_shadow_views(conn))], figures_hash(conn, digests.result())


def certify_shop(conn: psycopg.Connection, certification: Certification) -> list[CheckResult]:
    """Checks 1, 2, 4 and 5 of one shop of a shop revenue run (its record's scope), recorded (5 reports only)."""
    shop_id = certification.scope
    results = []
    extraction_problem = _extraction_problem(conn, certification)
    if extraction_problem:
        results.append(_not_run("completeness", extraction_problem))
    else:
        results.append(_guarded(conn, "completeness",
                                lambda: check_shop_completeness(conn, certification.extraction_batch_id)))
    built = conn.execute("select certification_id from mart.mart_shop_build where shop_id = %s",
                         [shop_id]).fetchone()
    if not _rebuilt_by_this_run(built, certification):
        why = "the shop's mart was not built by this run"
        results += [_recorded_or_not_run(certification, "integrity", why),
                    _not_run("independent_derivation", why), _not_run("shadow_views", why)]
        return _conclude(conn, certification, results, None)
    results += [
        _guarded(conn, "integrity", lambda: check_shop_integrity(conn, shop_id)),
        _guarded(conn, "independent_derivation", lambda: check_shop_derivation(conn, shop_id)),
        _guarded(conn, "shadow_views", lambda: check_shadow_views(conn, SHOP_SHADOWS, {"shop_id": shop_id})),
    ]
    return _conclude(conn, certification, results, shop_figures_hash(conn, shop_id))
