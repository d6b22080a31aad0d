"""Robust scores of a run's metrics against their recorded history, with pandas.

Each value is compared with the values before it under the same key (a
metric and its subject; for a shop-day also its weekday): the baseline is the
rolling median of the last `window` of them, the spread 1.4826 x their median
absolute deviation (the standard deviation a normal history would have, but
one odd value cannot drag it), never less than the metric's `min_scale`. The
score is (value - baseline) / spread. Values are counts and ratios: they are
floats here because they are statistics, never amounts of money.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

import pandas as pd

from revcert.monitoring.thresholds import Thresholds

# The median absolute deviation of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826


def _median_absolute_deviation(window: Sequence[float]) -> float:
    # A window of a few dozen values at most: plain Python beats building a Series for each one.
    values = [value for value in window if not math.isnan(value)]
    centre = statistics.median(values)
    return statistics.median(abs(value - centre) for value in values)


def severity(score: float, history_size: int, thresholds: Thresholds) -> str:
    """`recorded` (too little history to judge), `ok`, `warning` or `hold`."""
    if history_size < thresholds.min_history or pd.isna(score):
        return "recorded"
    away = {"up": score, "down": -score, "both": abs(score)}[thresholds.direction]
    if thresholds.hold_score is not None and away >= thresholds.hold_score:
        return "hold"
    return "warning" if away >= thresholds.warn_score else "ok"


def score_current(frame: pd.DataFrame, keys: list[str], thresholds: Mapping[str, Thresholds],
                  window: int) -> pd.DataFrame:
    """Score every current row of `frame` against the rows before it of the same key.

    Args:
        frame: One row per value: the `keys` columns (`metric` among them), `position` (the order within a
            key; earlier rows are the history), `value` (a count or a ratio), `is_current` (this run's).
        keys: The columns that make a history.
        thresholds: Each metric's thresholds.
        window: How many earlier values of a key make its history.

    Returns:
        The current rows (their own index kept) with `baseline`, `spread`, `score`, `history_size` and
        `severity` added.
    """
    ordered = frame.sort_values([*keys, "position"], kind="stable")
    earlier = ordered.groupby(keys, sort=False)["value"].shift(1)
    history = earlier.groupby([ordered[key] for key in keys], sort=False).rolling(window, min_periods=1)
    levels = list(range(len(keys)))
    baseline = history.median().droplevel(levels)
    deviation = history.apply(_median_absolute_deviation, raw=True).droplevel(levels)
    size = history.count().droplevel(levels)
    current = ordered[ordered["is_current"]].copy()
    current["baseline"] = baseline.reindex(current.index)
    current["history_size"] = size.reindex(current.index).fillna(0).astype(int)
    floor = current["metric"].map(lambda metric: thresholds[metric].min_scale)
    current["spread"] = (MAD_TO_SIGMA * deviation.reindex(current.index)).clip(lower=floor)
    current["score"] = (current["value"] - current["baseline"]) / current["spread"]
    current["severity"] = [severity(score, history_size, thresholds[metric]) for score, history_size, metric
                           in zip(current["score"], current["history_size"], current["metric"])]
    return current
