"""Monitoring's two observation points of a run, and the hold.

Before transform, a run's extraction batch is measured (sql/monitoring/*_batch_metrics.sql) and each
measure is scored against the batches before it (revcert.monitoring.detector): a score past a metric's
hold threshold stops the run there, so nothing is transformed or published and the figures shown stay
as they were. A held pipeline (or shop) stays held, run after run, until the hold is released (a run
triggered with `release_hold` naming the incident) or its incident resolved: the held batch is already
in staging, and the next batch alone would not show what it did. After transform, the figures the run
built are measured the same way, and only ever warn.

Every measure is stored in `monitoring.observation` with its statistics, the thresholds used and its
severity; every warning or hold is an occurrence in the incident ledger (revcert.monitoring.ledger), which
may suppress it. Everything here works in the caller's transaction.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from revcert.certification.record import Certification, fail_certification
from revcert.monitoring.detector import score_current
from revcert.monitoring.ledger import (
    Incident,
    RunOf,
    hold_run,
    outstanding_holds,
    read_incident,
    record_occurrence,
    release_holds,
)
from revcert.monitoring.thresholds import HISTORY_WINDOW, WEEKDAYS_WINDOW, Thresholds
from revcert.sqlfiles import load_sql

_SHOWN_PER_INCIDENT = 3


@dataclass(frozen=True)
class Measurement:
    """One metric of a run, as the warehouse measured it: a count or a ratio, never an amount."""

    metric: str
    subject: str
    value: Decimal
    detail: dict[str, Any]
    observed_day: date | None = None


@dataclass(frozen=True)
class Finding:
    """A measurement scored against its history, with what came of it."""

    point: str
    metric: str
    subject: str
    observed_day: date | None
    value: Decimal
    baseline: Decimal | None
    spread: Decimal | None
    score: Decimal | None
    history_size: int
    severity: str
    thresholds: dict[str, Any]
    detail: dict[str, Any]
    incident_id: int | None = None
    suppressed_by_incident_id: int | None = None
    suppression_note: str | None = None

    @property
    def is_anomaly(self) -> bool:
        return self.severity in ("warning", "hold")

    @property
    def holds(self) -> bool:
        return self.severity == "hold" and self.suppressed_by_incident_id is None

    @property
    def summary(self) -> str:
        return describe(self.metric, self.subject, self.observed_day, self.value, self.baseline, self.score,
                        self.history_size, self.severity, self.thresholds)

    def as_message(self, scope: str = "") -> dict[str, Any]:
        """What a Slack message shows of it."""
        return {"scope": scope, "severity": self.severity, "summary": self.summary, "incident_id": self.incident_id,
                "suppression_note": self.suppression_note}


@dataclass(frozen=True)
class BatchVerdict:
    """What monitoring made of one certification's batch before transform.

    Attributes:
        certification: The record observed (the run's, or a shop's).
        findings: Every measure of the batch, scored.
        holding: The incidents that hold it (empty: it goes on to transform).
        released: The holds this run released.
        pages: Whether this batch tripped a hold not already holding the pipeline (one that was has paged).
    """

    certification: Certification
    findings: list[Finding]
    holding: list[Incident]
    released: list[Incident]
    pages: bool

    @property
    def held(self) -> bool:
        return bool(self.holding)


def _shown(number: Decimal) -> str:
    return format(number.quantize(Decimal("0.000001")).normalize(), "f")


def describe(metric: str, subject: str, day: date | None, value: Decimal, baseline: Decimal | None,
             score: Decimal | None, history_size: int, severity: str, thresholds: dict[str, Any]) -> str:
    """One observation in a sentence, for the ledger and for people."""
    where = f"{subject} on {day}" if day else subject
    if severity == "recorded":
        return (f"{metric} of {where}: {_shown(value)} (recorded: {history_size} of the "
                f"{thresholds['min_history']} earlier observations needed to judge it)")
    limits = f"warns at {thresholds['warn_score']:g}"
    if thresholds.get("hold_score") is not None:
        limits = f"holds at {thresholds['hold_score']:g}, " + limits
    return (f"{metric} of {where}: {_shown(value)}, usually {_shown(baseline)} (score {score} over "
            f"{history_size} observations; {limits}, {thresholds['direction']})")


def _statistic(number: float, places: int) -> Decimal | None:
    """A pandas statistic as it is stored; it is a float only because it is not money."""
    return None if pd.isna(number) else Decimal(repr(round(float(number), places)))


def _measurements(conn: psycopg.Connection, model: str, params: dict[str, Any]) -> list[Measurement]:
    rows = conn.execute(load_sql("monitoring", model), params).fetchall()
    if model == "shop_day_metrics":
        return [Measurement(metric, subject, value, detail, day) for metric, subject, day, value, detail in rows]
    return [Measurement(metric, subject, value, detail) for metric, subject, value, detail in rows]


def _score(point: str, measurements: list[Measurement], history: pd.DataFrame, keys: list[str],
           thresholds: dict[str, Thresholds], window: int) -> list[Finding]:
    """Score `measurements` (positions after every history row of their key) against `history`."""
    if not measurements:
        return []
    current = pd.DataFrame({
        "metric": [m.metric for m in measurements], "subject": [m.subject for m in measurements],
        "observed_day": [m.observed_day for m in measurements],
        # A count or a ratio: a statistic, so a float here; the stored value stays the warehouse's Decimal.
        "value": [float(m.value) for m in measurements], "is_current": True, "measurement": range(len(measurements))})
    if "weekday" in keys:
        current["weekday"] = [m.observed_day.isoweekday() for m in measurements]
        current["position"] = [m.observed_day.toordinal() for m in measurements]
    else:
        current["position"] = len(history) + current["measurement"]
    frame = pd.concat([history.assign(is_current=False, measurement=-1), current], ignore_index=True)
    scored = score_current(frame, keys, thresholds, window).sort_values("measurement")
    findings = []
    for row in scored.itertuples():
        measured = measurements[row.measurement]
        findings.append(Finding(
            point, measured.metric, measured.subject, measured.observed_day, measured.value,
            _statistic(row.baseline, 6), _statistic(row.spread, 6), _statistic(row.score, 2), int(row.history_size),
            row.severity, thresholds[measured.metric].as_record(window), measured.detail))
    return findings


def _batch_history(conn: psycopg.Connection, certification: Certification, point: str,
                   batch_mode: str | None) -> pd.DataFrame:
    rows = conn.execute(load_sql("monitoring", "observation_history"),
                        {"dag_id": certification.dag_id, "point": point, "batch_mode": batch_mode,
                         "certification_id": certification.certification_id, "subject": certification.scope or None,
                         "history_window": HISTORY_WINDOW}).fetchall()
    history = pd.DataFrame(rows, columns=["metric", "subject", "value", "observed_at"])
    history["value"] = history["value"].astype(float)  # counts and ratios: statistics, never amounts
    history["position"] = history["observed_at"].rank(method="first") - 1
    return history.drop(columns="observed_at")


def _record_anomalies(conn: psycopg.Connection, findings: list[Finding], run: RunOf, scope: str,
                      today: date) -> list[Finding]:
    """One ledger occurrence per metric and subject with a warning or a hold; each finding gets its incident."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.is_anomaly:
            groups.setdefault((finding.metric, finding.subject), []).append(finding)
    occurrences = {}
    for (metric, subject), group in groups.items():
        severity = "hold" if any(f.severity == "hold" for f in group) else "warning"
        shown = "; ".join(f.summary for f in group[:_SHOWN_PER_INCIDENT])
        more = f"; and {len(group) - _SHOWN_PER_INCIDENT} more" if len(group) > _SHOWN_PER_INCIDENT else ""
        occurrences[(metric, subject)] = record_occurrence(
            conn, "anomaly", run, scope=scope, rule=metric, subject=subject, severity=severity, summary=shown + more,
            today=today, outcome="held" if severity == "hold" else "warned")

    def marked(finding: Finding) -> Finding:
        occurrence = occurrences[(finding.metric, finding.subject)]
        return replace(finding, incident_id=occurrence.incident_id, suppression_note=occurrence.suppression_note,
                       suppressed_by_incident_id=occurrence.suppressed_by_incident_id)

    return [marked(f) if f.is_anomaly else f for f in findings]


def _store(conn: psycopg.Connection, certification: Certification, point: str, batch_mode: str | None,
           findings: Iterable[Finding]) -> None:
    """Keep every finding of a certification's observation point (replacing an earlier try's)."""
    conn.execute("delete from monitoring.observation where certification_id = %s and point = %s",
                 [certification.certification_id, point])
    with conn.cursor() as cursor:
        cursor.executemany(
            "insert into monitoring.observation (certification_id, dag_id, run_id, extraction_batch_id, batch_mode, "
            "point, metric, subject, observed_day, value, baseline, spread, score, history_size, severity, "
            "thresholds, detail, incident_id, suppressed_by_incident_id, suppression_note) values (%s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(certification.certification_id, certification.dag_id, certification.run_id,
              certification.extraction_batch_id, batch_mode, point, f.metric, f.subject, f.observed_day, f.value,
              f.baseline, f.spread, f.score, f.history_size, f.severity, Jsonb(f.thresholds), Jsonb(f.detail),
              f.incident_id, f.suppressed_by_incident_id, f.suppression_note) for f in findings])


def release_instructions(dag_id: str, incidents: Sequence[Incident]) -> str:
    """How an operator lets a held pipeline go on (the page, the record and the README say the same)."""
    ids = ", ".join(str(i.incident_id) for i in incidents)
    first = incidents[0].incident_id
    return (f"If the change is real, trigger {dag_id} with release_hold = [{ids}] (operators): that run transforms "
            f"what was held and certifies as usual. Or resolve it: revcert incident resolve {first} --note \"why\" "
            "(add --expected-until YYYY-MM-DD when it will happen again; until then it is recorded, not held); "
            f"the next run then goes on. Until then every run of {dag_id} stops here")


def hold_summary(dag_id: str, scope: str, incidents: Sequence[Incident]) -> str:
    """The held record's failure summary: what holds it and how to release it."""
    held = "; ".join(f"incident {i.incident_id} ({i.what}, since {i.first_seen_at:%Y-%m-%d %H:%M %Z})"
                     for i in incidents)
    return (f"held before transform by {held}: nothing transformed or published, the figures shown are unchanged. "
            + release_instructions(dag_id, incidents) + (f" for shop {scope}." if scope else "."))


def observe_batch(conn: psycopg.Connection, certification: Certification, thresholds: dict[str, Thresholds], *,
                  today: date, release: Sequence[int], released_by: str) -> BatchVerdict:
    """Measure a staged batch (the run's, or a shop's), score it, and hold the record if it must be held.

    Args:
        conn: The warehouse, in the caller's transaction.
        certification: The running record whose batch is staged (scope '' Salesforce, a shop id a shop).
        thresholds: Each metric's thresholds (read_thresholds).
        today: The day expected resolutions are judged on.
        release: Incident ids the run's `release_hold` param names; those holding this record's pipeline or
            shop are released.
        released_by: Who released them (the run's triggering user, or the run).
    """
    scope, batch_id = certification.scope, certification.extraction_batch_id
    batch_mode = conn.execute("select mode from raw.extraction_batch where batch_id = %s", [batch_id]).fetchone()[0]
    model, params = (("shop_batch_metrics", {"batch_id": batch_id, "shop_id": scope}) if scope
                     else ("salesforce_batch_metrics", {"batch_id": batch_id}))
    findings = _score("batch", _measurements(conn, model, params),
                      _batch_history(conn, certification, "batch", batch_mode), ["metric", "subject"], thresholds,
                      HISTORY_WINDOW)
    run = RunOf.of(certification)
    outstanding = outstanding_holds(conn, certification.dag_id, scope)
    released = [i for i in outstanding if i.incident_id in release]
    release_holds(conn, released, run, released_by)
    findings = _record_anomalies(conn, findings, run, scope, today)
    _store(conn, certification, "batch", batch_mode, findings)
    still_holding = [i for i in outstanding if i not in released]
    tripped = list(dict.fromkeys(f.incident_id for f in findings if f.holds))
    holding = list({i.incident_id: i for i in [*still_holding, *(read_incident(conn, n) for n in tripped)]}.values())
    if holding:
        hold_run(conn, holding, run)
        fail_certification(conn, certification.certification_id,
                           hold_summary(certification.dag_id, scope, holding))
    # An incident pages once: a hold it already held the pipeline with has paged.
    pages = bool(set(tripped) - {i.incident_id for i in still_holding})
    return BatchVerdict(certification, findings, holding, released, pages=pages)


def _shop_day_history(conn: psycopg.Connection, certification: Certification,
                      days: list[date]) -> pd.DataFrame:
    rows = conn.execute(load_sql("monitoring", "shop_day_history"),
                        {"dag_id": certification.dag_id, "shop_id": certification.scope,
                         "certification_id": certification.certification_id, "from_day": min(days),
                         "to_day": max(days), "weeks": WEEKDAYS_WINDOW}).fetchall()
    history = pd.DataFrame(rows, columns=["metric", "observed_day", "value"])
    # A day this run measured again is this run's, not history.
    history = history[~history["observed_day"].isin(set(days))].reset_index(drop=True)
    return pd.DataFrame({"metric": history["metric"], "subject": certification.scope,
                         "value": history["value"].astype(float),  # counts and ratios: statistics
                         "weekday": [day.isoweekday() for day in history["observed_day"]],
                         "position": [day.toordinal() for day in history["observed_day"]]})


def observe_figures(conn: psycopg.Connection, certification: Certification, thresholds: dict[str, Thresholds], *,
                    today: date) -> list[Finding]:
    """Measure the figures the run built (the MRR bridge, or a shop's days), score them and record warnings.

    After transform monitoring only warns: nothing here holds the run. A mart the run did not build (a shop
    refused or held) gives nothing to measure.
    """
    run = RunOf.of(certification)
    if certification.scope:
        measurements = _measurements(conn, "shop_day_metrics", {"shop_id": certification.scope,
                                                                 "certification_id": certification.certification_id})
        days = sorted({m.observed_day for m in measurements})
        history = _shop_day_history(conn, certification, days) if days else pd.DataFrame()
        findings = _score("figures", measurements, history, ["metric", "subject", "weekday"], thresholds,
                          WEEKDAYS_WINDOW)
    else:
        measurements = _measurements(conn, "mrr_figure_metrics", {"as_of_date": certification.as_of_date,
                                                                   "certification_id": certification.certification_id})
        findings = _score("figures", measurements, _batch_history(conn, certification, "figures", None),
                          ["metric", "subject"], thresholds, HISTORY_WINDOW)
    findings = _record_anomalies(conn, findings, run, certification.scope, today)
    _store(conn, certification, "figures", None, findings)
    return findings


def run_findings(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The warnings and suppressed anomalies of a run that no hold page told, as a Slack message shows them."""
    return [{"scope": scope, "severity": severity, "incident_id": incident_id, "suppression_note": note,
             "summary": describe(metric, subject, day, value, baseline, score, size, severity, thresholds)}
            for (scope, _point, metric, subject, day, value, baseline, score, size, severity, thresholds,
                 incident_id, _suppressed_by, note) in conn.execute(load_sql("monitoring", "run_findings"),
                                                                    {"dag_id": dag_id, "run_id": run_id})]


def run_releases(conn: psycopg.Connection, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The holds a run released, as a Slack message shows them."""
    return [{"incident_id": incident_id, "scope": scope, "what": f"{rule} {subject}", "summary": summary,
             "released_by": by}
            for incident_id, scope, rule, subject, summary, by in conn.execute(
                load_sql("monitoring", "run_releases"), {"dag_id": dag_id, "run_id": run_id})]
