"""Monitoring's history built the fast way for tests: earlier observations inserted directly, as earlier runs
would have recorded them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb


def plant_history(url: str, *, dag_id: str, point: str, metric: str, subject: str, values: list[str],
                  batch_mode: str | None = None, days: list[date] | None = None) -> None:
    """One observation per value (a count or a ratio, as text), oldest first, a millisecond apart from now on:
    later than every run so far; on the latest certification record of `dag_id` (`days`: the day of each value,
    for shop-days)."""
    with psycopg.connect(url) as conn:
        certification_id = conn.execute("select max(certification_id) from certification.certification_run "
                                        "where dag_id = %s", [dag_id]).fetchone()[0]
        now = datetime.now(timezone.utc)
        conn.cursor().executemany(
            "insert into monitoring.observation (certification_id, dag_id, run_id, batch_mode, point, metric, "
            "subject, observed_day, value, history_size, severity, thresholds, observed_at) values (%s, %s, "
            "'planted', %s, %s, %s, %s, %s, %s, 0, 'recorded', %s, %s)",
            [(certification_id, dag_id, batch_mode, point, metric, subject, days[n] if days else None, Decimal(value),
              Jsonb({}), now + timedelta(milliseconds=n)) for n, value in enumerate(values)])
