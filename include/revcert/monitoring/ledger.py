"""The incident ledger: what went wrong, when, in which runs, and what people decided about it.

An anomaly, a failed certification check or a reconciliation discrepancy is an
occurrence of a fingerprint (kind, pipeline, rule, subject). While an incident
of that fingerprint is not resolved, every occurrence updates it (last seen,
the runs it affected); after it is resolved, the next occurrence opens a new
one. People acknowledge an incident (someone is on it) or resolve it with a
note. A resolution may say the change was *expected* until a date (quarter-end
renewals, a planned clean-up): the ledger learns from it, and an anomaly of the
same fingerprint is then recorded against that incident, suppressed (it neither
holds nor pages), until the date has passed. Failed certification checks and
reconciliation discrepancies are recorded the same way but never suppressed:
nothing is published while a check fails, so its page always goes.

Everything here works in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import psycopg
from psycopg.rows import class_row

from revcert.certification.record import Certification
from revcert.sqlfiles import load_sql

Kind = Literal["anomaly", "certification", "reconciliation"]
STATUSES = ("open", "acknowledged", "resolved")


class IncidentRefused(ValueError):
    """What was asked of an incident cannot be done (unknown, or already resolved); the message says why."""


@dataclass(frozen=True)
class Incident:
    incident_id: int
    kind: str
    dag_id: str
    scope: str
    rule: str
    subject: str
    severity: str
    summary: str
    status: str
    is_holding: bool
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    expected_until: date | None
    runs_affected: int

    @property
    def what(self) -> str:
        """The rule and subject, the way messages name an incident."""
        return f"{self.rule} {self.subject}".strip()


@dataclass(frozen=True)
class IncidentRun:
    incident_id: int
    dag_id: str
    run_id: str
    certification_id: int | None
    outcome: str
    seen_at: datetime


@dataclass(frozen=True)
class RunOf:
    """The run an occurrence was seen in, and its certification record (none for a reconciliation)."""

    dag_id: str
    run_id: str
    certification_id: int | None = None

    @classmethod
    def of(cls, certification: Certification) -> RunOf:
        return cls(certification.dag_id, certification.run_id, certification.certification_id)


@dataclass(frozen=True)
class Occurrence:
    """The incident an occurrence was recorded against, and whether an expected resolution suppressed it."""

    incident_id: int
    suppressed_by: Incident | None = None

    @property
    def suppressed_by_incident_id(self) -> int | None:
        return self.suppressed_by.incident_id if self.suppressed_by else None

    @property
    def suppression_note(self) -> str | None:
        by = self.suppressed_by
        return (f"suppressed by incident {by.incident_id}: {by.resolution_note} (expected until {by.expected_until})"
                if by else None)


def fingerprint(kind: Kind, dag_id: str, rule: str, subject: str) -> str:
    return f"{kind}:{dag_id}:{rule}:{subject}"


def _incidents(conn: psycopg.Connection, *, status: str | None = None, incident_id: int | None = None,
               limit: int = 200) -> list[Incident]:
    with conn.cursor(row_factory=class_row(Incident)) as cursor:
        return cursor.execute(load_sql("monitoring", "incidents"),
                              {"status": status, "incident_id": incident_id, "limit": limit}).fetchall()


def list_incidents(conn: psycopg.Connection, status: str | None = None, limit: int = 200) -> list[Incident]:
    """The ledger, open incidents first (then acknowledged, then resolved), most recently seen first."""
    return _incidents(conn, status=status, limit=limit)


def read_incident(conn: psycopg.Connection, incident_id: int) -> Incident:
    found = _incidents(conn, incident_id=incident_id, limit=1)
    if not found:
        raise IncidentRefused(f"there is no incident {incident_id}")
    return found[0]


def incident_runs(conn: psycopg.Connection, incident_id: int) -> list[IncidentRun]:
    """The runs an incident affected, newest first, with what it did to each."""
    with conn.cursor(row_factory=class_row(IncidentRun)) as cursor:
        return cursor.execute(load_sql("monitoring", "incident_runs"), {"incident_id": incident_id}).fetchall()


def _touch_run(conn: psycopg.Connection, incident_id: int, run: RunOf, outcome: str) -> None:
    conn.execute("insert into monitoring.incident_run (incident_id, dag_id, run_id, certification_id, outcome) "
                 "values (%s, %s, %s, %s, %s) on conflict (incident_id, dag_id, run_id) do update set "
                 "certification_id = excluded.certification_id, outcome = excluded.outcome, seen_at = now()",
                 [incident_id, run.dag_id, run.run_id, run.certification_id, outcome])


def _suppressing(conn: psycopg.Connection, key: str, today: date) -> Incident | None:
    """The latest incident of a fingerprint resolved as expected through `today` or later."""
    row = conn.execute("select incident_id from monitoring.incident where fingerprint = %s and status = 'resolved' "
                       "and expected_until >= %s order by resolved_at desc limit 1", [key, today]).fetchone()
    return read_incident(conn, row[0]) if row else None


def record_occurrence(conn: psycopg.Connection, kind: Kind, run: RunOf, *, scope: str, rule: str, subject: str,
                      severity: str, summary: str, outcome: str, today: date,
                      seen_at: datetime | None = None) -> Occurrence:
    """Record one occurrence of a fingerprint: against the incident whose expected resolution covers `today`
    (anomalies only: suppressed), else the unresolved incident of the fingerprint, else a new one.

    Args:
        kind: anomaly, certification or reconciliation.
        run: The run it was seen in.
        scope: The certification scope it belongs to ('' for a run, the shop id for a shop).
        rule: The metric, the check (and rule), or the reconciliation's comparison.
        subject: What it is about (an object, a business unit, a shop).
        severity: warning or hold (anomalies), failure (checks), discrepancy (reconciliation).
        summary: What was seen, in a sentence (kept as the incident's latest summary).
        outcome: What it did to the run (held, warned, failed, discrepancy) unless suppressed.
        today: The day suppression is judged on (the business timezone's today).
        seen_at: When it was seen (default: now).
    """
    key = fingerprint(kind, run.dag_id, rule, subject)
    suppressing = _suppressing(conn, key, today) if kind == "anomaly" else None
    if suppressing is not None:
        conn.execute("update monitoring.incident set last_seen_at = greatest(last_seen_at, coalesce(%s, now())) "
                     "where incident_id = %s", [seen_at, suppressing.incident_id])
        _touch_run(conn, suppressing.incident_id, run, "suppressed")
        return Occurrence(suppressing.incident_id, suppressing)
    incident_id = conn.execute(
        "insert into monitoring.incident as incident (fingerprint, kind, dag_id, scope, rule, subject, severity, "
        "summary, is_holding, first_seen_at, last_seen_at) values (%(fingerprint)s, %(kind)s, %(dag_id)s, %(scope)s, "
        "%(rule)s, %(subject)s, %(severity)s, %(summary)s, %(holds)s, coalesce(%(seen_at)s, now()), "
        "coalesce(%(seen_at)s, now())) "
        "on conflict (fingerprint) where status <> 'resolved' do update set "
        "last_seen_at = greatest(incident.last_seen_at, excluded.last_seen_at), summary = excluded.summary, "
        # A hold outranks a warning: an incident that held once stays a hold until resolved.
        "severity = case when 'hold' in (incident.severity, excluded.severity) then 'hold' "
        "else excluded.severity end, is_holding = incident.is_holding or excluded.is_holding "
        "returning incident_id",
        {"fingerprint": key, "kind": kind, "dag_id": run.dag_id, "scope": scope, "rule": rule, "subject": subject,
         "severity": severity, "summary": summary, "holds": severity == "hold", "seen_at": seen_at}).fetchone()[0]
    _touch_run(conn, incident_id, run, outcome)
    return Occurrence(incident_id)


def outstanding_holds(conn: psycopg.Connection, dag_id: str, scope: str) -> list[Incident]:
    """The incidents holding a pipeline (or one shop of it): held a run, neither released nor resolved since."""
    ids = [row[0] for row in conn.execute("select incident_id from monitoring.incident where dag_id = %s and "
                                          "scope = %s and is_holding order by incident_id", [dag_id, scope])]
    return [read_incident(conn, incident_id) for incident_id in ids]


def hold_run(conn: psycopg.Connection, incidents: Sequence[Incident], run: RunOf) -> None:
    """Record that `incidents` held this run before transform."""
    for incident in incidents:
        _touch_run(conn, incident.incident_id, run, "held")


def release_holds(conn: psycopg.Connection, incidents: Sequence[Incident], run: RunOf, by: str) -> None:
    """Release held incidents for this run (its `release_hold` param): resolved as released, not as expected,
    so the same anomaly holds again next time."""
    for incident in incidents:
        conn.execute("update monitoring.incident set status = 'resolved', is_holding = false, resolved_at = now(), "
                     "resolved_by = %s, resolution_note = %s where incident_id = %s",
                     [by, f"released by run {run.run_id} of {run.dag_id} (release_hold)", incident.incident_id])
        _touch_run(conn, incident.incident_id, run, "released")


def held_certifications(conn: psycopg.Connection, certification_ids: Sequence[int]) -> set[int]:
    """The certification records among `certification_ids` that monitoring held before transform."""
    return {row[0] for row in conn.execute("select distinct certification_id from monitoring.incident_run where "
                                           "outcome = 'held' and certification_id = any(%s)",
                                           [list(certification_ids)])}


def record_certification_failures(conn: psycopg.Connection, certification: Certification, today: date) -> list[int]:
    """An incident per failed check of a record (per broken rule where the check names rules); returns their ids.

    A check that could not run (blocked) is not an incident of its own: the failure that blocked it is.
    """
    recorded = []
    for check in certification.failed_checks:
        rules = list(dict.fromkeys(d["rule"] for d in check.discrepancies if "rule" in d))
        for rule in [f"{check.check_name}.{rule}" for rule in rules] or [check.check_name]:
            occurrence = record_occurrence(
                conn, "certification", RunOf.of(certification), scope=certification.scope, rule=rule,
                subject=certification.scope or "run", severity="failure", outcome="failed", today=today,
                summary=f"certification {certification.certification_id} as of {certification.as_of_date}: "
                        f"{check.check_name}: {check.summary}")
            recorded.append(occurrence.incident_id)
    return recorded


def absorb_reconciliations(conn: psycopg.Connection, today: date) -> None:
    """Take the reconciliation's open discrepancies into the ledger (an incident per shop, each reconciliation
    run that found them among its runs), and resolve the incidents of shops the reconciliation has since found
    equal to the source again."""
    apart = set()
    for shop_id, dag_id, run_id, found_at, days, first_day, last_day in conn.execute(
            load_sql("monitoring", "reconciliation_findings")).fetchall():
        apart.add(shop_id)
        record_occurrence(conn, "reconciliation", RunOf(dag_id, run_id), scope=shop_id, rule="net_revenue",
                          subject=shop_id, severity="discrepancy", outcome="discrepancy", today=today,
                          seen_at=found_at,
                          summary=f"{days} published shop-day(s) apart from the source, {first_day} to {last_day}")
    conn.execute("update monitoring.incident set status = 'resolved', resolved_at = now(), "
                 "resolved_by = 'reconciliation', resolution_note = 'a later reconciliation found every shop-day "
                 "equal to the source again' where kind = 'reconciliation' and status <> 'resolved' and "
                 "scope <> all(%s)", [sorted(apart)])


def acknowledge_incident(conn: psycopg.Connection, incident_id: int, by: str) -> Incident:
    """Someone is on it: the incident stays open (a hold keeps holding) until it is resolved."""
    # One statement decides, so an acknowledgement racing a resolution cannot reopen it.
    acknowledged = conn.execute("update monitoring.incident set status = 'acknowledged', acknowledged_at = now(), "
                                "acknowledged_by = %s where incident_id = %s and status <> 'resolved' "
                                "returning incident_id", [by, incident_id]).fetchone()
    incident = read_incident(conn, incident_id)
    if not acknowledged:
        raise IncidentRefused(f"incident {incident_id} is already resolved ({incident.resolution_note})")
    return incident


def resolve_incident(conn: psycopg.Connection, incident_id: int, note: str, by: str,
                     expected_until: date | None = None) -> Incident:
    """Resolve an incident with a note (again, to change the note or the date); a hold no longer holds.

    Args:
        incident_id: The incident.
        note: Why (kept; a suppressed anomaly shows it).
        by: Who.
        expected_until: The change was expected: the same fingerprint is suppressed through this date.
    """
    if not note.strip():
        raise IncidentRefused("a resolution needs a note saying why")
    read_incident(conn, incident_id)
    conn.execute("update monitoring.incident set status = 'resolved', is_holding = false, resolved_at = now(), "
                 "resolved_by = %s, resolution_note = %s, expected_until = %s where incident_id = %s",
                 [by, note.strip(), expected_until, incident_id])
    return read_incident(conn, incident_id)
