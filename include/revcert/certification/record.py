"""The certification record: one per run, with one row per check.

It says what was checked, pass or fail, the discrepancies with their record
ids, the overrides used, row counts, and the hash of the figures certified.
A run is `running` only while it holds the warehouse; it ends `certified`,
`failed`, or `abandoned` (it crashed, was stopped, or gave up waiting), always
with the reason. Amounts in discrepancies are decimal strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from revcert.money import amounts_as_text
from revcert.sqlfiles import load_sql


@dataclass(frozen=True)
class CheckResult:
    """One check of Part C. `passed` is None when the check could not run (an earlier stage failed)."""

    check_name: str
    passed: bool | None
    summary: str
    discrepancies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Certification:
    certification_id: int
    dag_id: str
    run_id: str
    scope: str
    as_of_date: date
    status: str
    is_certify_only: bool
    is_restatement: bool
    extraction_batch_id: int | None
    figures_hash: str | None
    certified_at: datetime | None
    published_at: datetime | None
    closed_at: datetime | None
    failure_summary: str | None
    published_months: list[str] | None
    withdrawn_months: list[str] | None
    overrides_used: list[dict[str, str]]
    row_counts: dict[str, int] | None
    checks: dict[str, CheckResult]

    @property
    def failed_checks(self) -> list[CheckResult]:
        """The checks that ran and found something wrong."""
        return [c for c in self.checks.values() if c.passed is False]

    @property
    def blocked_checks(self) -> list[CheckResult]:
        """The checks an earlier failure kept from running: they say nothing about the figures."""
        return [c for c in self.checks.values() if c.passed is None]


def open_certification(conn: psycopg.Connection, dag_id: str, run_id: str, as_of: date, *, scope: str = "",
                       certify_only: bool = False, restatement: bool = False) -> int:
    """The certification of a run (or of one shop of it: `scope`), created on first call (a retried task finds
    the same one)."""
    return conn.execute(
        "insert into certification.certification_run (dag_id, run_id, scope, as_of_date, status, is_certify_only, "
        "is_restatement, overrides_used) values (%s, %s, %s, %s, 'running', %s, %s, '[]') "
        "on conflict (dag_id, run_id, scope) do update set as_of_date = excluded.as_of_date "
        "returning certification_id", [dag_id, run_id, scope, as_of, certify_only, restatement]).fetchone()[0]


def certification_of_run(conn: psycopg.Connection, dag_id: str, run_id: str, scope: str = "") -> int | None:
    row = conn.execute("select certification_id from certification.certification_run where dag_id = %s "
                       "and run_id = %s and scope = %s", [dag_id, run_id, scope]).fetchone()
    return row[0] if row else None


def scoped_certifications(conn: psycopg.Connection, dag_id: str, run_id: str) -> dict[str, int]:
    """The per-scope (per-shop) records of a run: scope -> certification id."""
    return dict(conn.execute("select scope, certification_id from certification.certification_run where dag_id = %s "
                             "and run_id = %s and scope <> '' order by scope", [dag_id, run_id]).fetchall())


def record_abandoned(conn: psycopg.Connection, dag_id: str, run_id: str, as_of: date, reason: str,
                     scope: str = "") -> int:
    """Record a run (or a shop of it) that ended before it could work, with why."""
    return conn.execute(
        "insert into certification.certification_run (dag_id, run_id, scope, as_of_date, status, is_certify_only, "
        "is_restatement, overrides_used, failure_summary, closed_at) "
        "values (%s, %s, %s, %s, 'abandoned', false, false, '[]', %s, now()) "
        "on conflict (dag_id, run_id, scope) do update set status = 'abandoned', "
        "failure_summary = excluded.failure_summary, closed_at = now() returning certification_id",
        [dag_id, run_id, scope, as_of, reason]).fetchone()[0]


def fail_certification(conn: psycopg.Connection, certification_id: int, reason: str) -> None:
    """End a running certification as failed, with why (a check that could not finish, for instance)."""
    conn.execute("update certification.certification_run set status = 'failed', failure_summary = %s, "
                 "closed_at = now() where certification_id = %s and status = 'running'", [reason, certification_id])


def abandon_certification(conn: psycopg.Connection, certification_id: int, reason: str) -> None:
    """Close a stopped run's record (unless it already published or failed) and its unstaged batch, with why."""
    conn.execute(load_sql("certification", "abandon_certification"),
                 {"certification_id": certification_id, "reason": reason})


def close_abandoned_runs(conn: psycopg.Connection, dag_id: str, own_run_id: str, reason: str,
                         source: str) -> list[tuple[str, int]]:
    """Close every record of a pipeline, and every batch of its source, left open by runs that no longer
    hold its lease (every run but this one); returns what it closed."""
    return [tuple(row) for row in conn.execute(load_sql("certification", "close_abandoned_runs"),
                                               {"reason": reason, "dag_id": dag_id, "own_run_id": own_run_id,
                                                "source": source})]


def record_check(conn: psycopg.Connection, certification_id: int, result: CheckResult) -> None:
    conn.execute(
        "insert into certification.check_result (certification_id, check_name, passed, summary, discrepancies, "
        "checked_at) values (%s, %s, %s, %s, %s, now()) on conflict (certification_id, check_name) do update set "
        "passed = excluded.passed, summary = excluded.summary, discrepancies = excluded.discrepancies, "
        "checked_at = now()",
        [certification_id, result.check_name, result.passed, result.summary,
         Jsonb(amounts_as_text(result.discrepancies))])


_COLUMNS = {"status", "as_of_date", "extraction_batch_id", "figures_hash", "certified_at", "published_at", "row_counts",
            "overrides_used", "failure_summary", "closed_at", "published_months", "withdrawn_months",
            "mart_whole_because", "mart_customers_recomputed", "mart_customers", "mart_rebuilt_month"}
_JSON_COLUMNS = {"row_counts", "overrides_used", "published_months", "withdrawn_months"}


def update_certification(conn: psycopg.Connection, certification_id: int, **values: Any) -> None:
    """Set columns of the certification record (names are this module's, never user input)."""
    if not set(values) <= _COLUMNS:
        raise ValueError(f"not a certification column: {sorted(set(values) - _COLUMNS)}")
    assignments = ", ".join(f"{name} = %({name})s" for name in values)
    params = {name: Jsonb(amounts_as_text(v)) if name in _JSON_COLUMNS else v for name, v in values.items()}
    conn.execute(f"update certification.certification_run set {assignments} where certification_id = "
                 "%(certification_id)s", {**params, "certification_id": certification_id})


def read_certification(conn: psycopg.Connection, certification_id: int) -> Certification:
    with conn.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(
            "select certification_id, dag_id, run_id, scope, as_of_date, status, is_certify_only, is_restatement, "
            "extraction_batch_id, figures_hash, certified_at, published_at, closed_at, failure_summary, "
            "published_months, withdrawn_months, overrides_used, row_counts "
            "from certification.certification_run where certification_id = %s", [certification_id]).fetchone()
        checks = {r["check_name"]: CheckResult(r["check_name"], r["passed"], r["summary"], r["discrepancies"])
                  for r in cursor.execute(
                      "select result.check_name, result.passed, result.summary, result.discrepancies "
                      "from certification.check_result as result "
                      "inner join certification.check_definition as definition using (check_name) "
                      "where result.certification_id = %s order by definition.part_c_number, result.check_name",
                      [certification_id])}
    if row is None:
        raise LookupError(f"no certification record {certification_id}")
    return Certification(**row, checks=checks)
