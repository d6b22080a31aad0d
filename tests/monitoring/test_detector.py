"""Robust scores against the recorded history (golden cases): the baseline is the rolling median, the spread
1.4826 x the median absolute deviation with the metric's floor, and the severity follows the thresholds."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from revcert.monitoring.detector import score_current, severity
from revcert.monitoring.thresholds import Thresholds, read_thresholds

THRESHOLDS = read_thresholds()


def frame(metric: str, history: list[float], current: float, subject: str = "SBQQ__Subscription__c") -> pd.DataFrame:
    rows = [{"metric": metric, "subject": subject, "position": n, "value": v, "is_current": False}
            for n, v in enumerate(history)]
    return pd.DataFrame([*rows, {"metric": metric, "subject": subject, "position": len(history), "value": current,
                                 "is_current": True}])


@pytest.mark.parametrize("name, metric, history, current, expected", [
    ("40% deleted after a quiet history holds", "deleted_share", [0, 0.0008, 0, 0.0004, 0], 0.4,
     (0, 0.01, 40, "hold")),
    ("5% deleted warns", "deleted_share", [0, 0.0008, 0, 0.0004, 0], 0.05, (0, 0.01, 5, "warning")),
    ("fewer deletions than usual is no anomaly (up only)", "deleted_share", [0.3, 0.3, 0.3, 0.3, 0.3], 0,
     (0.3, 0.01, -30, "ok")),
    ("four earlier batches are too few to judge", "deleted_share", [0, 0, 0, 0], 0.4, (0, 0.01, 40, "recorded")),
    ("a spread wider than the floor", "records_changed", [100, 110, 95, 105, 98, 102], 300,
     (101, 10, 19.9, "warning")),
    ("one odd batch in the history drags neither the baseline nor the spread", "records_changed",
     [100, 104, 5000, 98, 102, 100], 103, (101, 10, 0.2, "ok")),
])
def test_golden_cases(name, metric, history, current, expected):
    [row] = score_current(frame(metric, history, current), ["metric", "subject"], THRESHOLDS, 20).itertuples()
    baseline, spread, score, judged = expected
    assert (round(row.baseline, 6), round(row.spread, 6), round(row.score, 2), row.severity) == (
        baseline, spread, score, judged), name


def test_only_the_last_window_of_history_counts():
    history = [1000.0] * 10 + [100.0] * 5
    [row] = score_current(frame("records_changed", history, 100), ["metric", "subject"], THRESHOLDS, 5).itertuples()
    assert (row.baseline, row.history_size, row.severity) == (100, 5, "ok")


def test_a_shop_day_is_compared_with_the_same_weekday_only_and_days_of_the_run_with_each_other():
    """Saturdays are quiet and Mondays busy: a quiet Saturday is usual, a quiet Monday is not; a first full run
    judges each day by the same weekdays before it, its own included."""
    start = date(2026, 6, 6)  # a Saturday
    days = [start + timedelta(days=n) for n in range(7 * 8)]
    values = [10.0 if day.isoweekday() == 6 else 300.0 for day in days]
    values[-5] = 0.0  # the last Monday
    rows = pd.DataFrame({"metric": "shop_day_orders", "subject": "1001", "value": values, "is_current": True,
                         "weekday": [d.isoweekday() for d in days], "position": [d.toordinal() for d in days]})
    scored = score_current(rows, ["metric", "subject", "weekday"], THRESHOLDS, 8)
    judged = dict(zip([days[i] for i in scored.index], scored["severity"]))
    assert judged[days[-5]] == "warning" and days[-5].isoweekday() == 1
    assert [d for d, s in judged.items() if s == "warning"] == [days[-5]]
    assert judged[days[-7]] == "ok" and days[-7].isoweekday() == 6
    assert judged[days[0]] == "recorded"


@pytest.mark.parametrize("direction, score, expected", [("up", 5, "warning"), ("up", -5, "ok"), ("down", -9, "hold"),
                                                        ("both", -5, "warning"), ("both", 3.9, "ok")])
def test_direction_decides_which_moves_count(direction, score, expected):
    assert severity(score, 5, Thresholds(4, 8, 5, 1, direction)) == expected
