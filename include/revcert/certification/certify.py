"""Certify a run: checks 1-4 of METHODOLOGY.md Part C, from what the run left in the warehouse.

A check that cannot run because an earlier stage failed is recorded as not
run (passed = None) and counts as a failure: nothing is certified unless all
four checks ran and passed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

import psycopg

from revcert.certification.checks import (
    check_completeness,
    check_independent_derivation,
    check_integrity,
    check_movement_identity,
)
from revcert.certification.fingerprint import figures_hash
from revcert.certification.record import Certification, CheckResult, record_check, update_certification
from revcert.methodology.overrides import ClassificationOverride
from revcert.settings import Settings

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


def certify_run(conn: psycopg.Connection, certification: Certification, settings: Settings) -> list[CheckResult]:
    """Run and record every check for `certification`; mark it certified or failed.

    A certified record stays open (closed_at empty) until it is published, or
    closed as certify-only; a failed one is closed here.
    """
    results = []
    extraction_problem = _extraction_problem(conn, certification)
    if extraction_problem:
        results.append(_not_run("completeness", extraction_problem))
    else:
        results.append(_guarded(conn, "completeness",
                                lambda: check_completeness(conn, certification.extraction_batch_id)))
    built = conn.execute("select certification_id from mart.mart_build").fetchone()
    if not built or built[0] != certification.certification_id:
        recorded = certification.checks.get("integrity")
        why = "the mart was not built by this run"
        results.append(recorded if recorded and recorded.passed is False else _not_run("integrity", why))
        results += [_not_run("movement_identity", why), _not_run("independent_derivation", why)]
        hashed = None
    else:
        overrides = [ClassificationOverride(**o) for o in certification.overrides_used]
        results += [
            _guarded(conn, "integrity", lambda: check_integrity(conn)),
            _guarded(conn, "movement_identity", lambda: check_movement_identity(conn)),
            _guarded(conn, "independent_derivation", lambda: check_independent_derivation(
                conn, certification.as_of_date, settings.renewal_grace_days, overrides)),
        ]
        hashed = figures_hash(conn)
    for result in results:
        record_check(conn, certification.certification_id, result)
    failed = [r for r in results if r.passed is not True]
    if failed:
        update_certification(conn, certification.certification_id, status="failed", figures_hash=hashed,
                             failure_summary="; ".join(f"{r.check_name}: {r.summary}" for r in failed),
                             closed_at=datetime.now(timezone.utc))
    else:
        update_certification(conn, certification.certification_id, status="certified", figures_hash=hashed,
                             certified_at=datetime.now(timezone.utc))
    return results
