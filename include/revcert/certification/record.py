"""The certification record: one per run, with one row per check.

It says what was checked, pass or fail, the discrepancies with their record
ids, the overrides used, row counts, and the hash of the figures certified.
Amounts in discrepancies are decimal strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

CHECK_ORDER = ("completeness", "integrity", "movement_identity", "independent_derivation")


@dataclass(frozen=True)
class CheckResult:
    """One check of Part C. `passed` is None when the check could not run."""

    check_name: str
    passed: bool | None
    summary: str
    discrepancies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Certification:
    certification_id: int
    dag_id: str
    run_id: str
    as_of_date: date
    status: str
    extraction_batch_id: int | None
    figures_hash: str | None
    certified_at: datetime | None
    published_at: datetime | None
    overrides_used: list[dict[str, str]]
    row_counts: dict[str, int] | None
    checks: dict[str, CheckResult]

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks.values() if c.passed is not True]


def _plain(value: Any) -> Any:
    """JSON-ready copy: Decimals and dates become strings (amounts stay exact)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (Decimal, date)):
        return str(value)
    return value


def open_certification(conn: psycopg.Connection, dag_id: str, run_id: str, as_of: date) -> int:
    """The certification of a run, created on first call (a retried task finds the same one)."""
    return conn.execute(
        "insert into certification.certification_run (dag_id, run_id, as_of_date, status) values (%s, %s, %s, "
        "'running') on conflict (dag_id, run_id) do update set as_of_date = excluded.as_of_date "
        "returning certification_id", [dag_id, run_id, as_of]).fetchone()[0]


def record_check(conn: psycopg.Connection, certification_id: int, result: CheckResult) -> None:
    conn.execute(
        "insert into certification.check_result (certification_id, check_name, passed, summary, discrepancies) "
        "values (%s, %s, %s, %s, %s) on conflict (certification_id, check_name) do update set passed = "
        "excluded.passed, summary = excluded.summary, discrepancies = excluded.discrepancies, checked_at = now()",
        [certification_id, result.check_name, result.passed, result.summary, Jsonb(_plain(result.discrepancies))])


def update_certification(conn: psycopg.Connection, certification_id: int, **values: Any) -> None:
    """Set columns of the certification record (names are this module's, never user input)."""
    allowed = {"status", "extraction_batch_id", "figures_hash", "certified_at", "published_at", "row_counts",
               "overrides_used", "failure_summary"}
    if not set(values) <= allowed:
        raise ValueError(f"not a certification column: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{name} = %({name})s" for name in values)
    params = {name: Jsonb(_plain(v)) if name in ("row_counts", "overrides_used") else v for name, v in values.items()}
    conn.execute(f"update certification.certification_run set {assignments} where certification_id = "
                 "%(certification_id)s", {**params, "certification_id": certification_id})


def read_certification(conn: psycopg.Connection, certification_id: int) -> Certification:
    with conn.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute("select certification_id, dag_id, run_id, as_of_date, status, extraction_batch_id, "
                             "figures_hash, certified_at, published_at, overrides_used, row_counts "
                             "from certification.certification_run where certification_id = %s",
                             [certification_id]).fetchone()
        checks = {r["check_name"]: CheckResult(r["check_name"], r["passed"], r["summary"], r["discrepancies"])
                  for r in cursor.execute("select check_name, passed, summary, discrepancies from "
                                          "certification.check_result where certification_id = %s",
                                          [certification_id])}
    ordered = {name: checks[name] for name in CHECK_ORDER if name in checks}
    return Certification(**row, checks=ordered)
