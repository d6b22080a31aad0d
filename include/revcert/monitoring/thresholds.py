"""What monitoring measures, and when a measure is a warning or a hold.

Every metric is a count or a ratio, never an amount: a change in money is
measured as a ratio the warehouse computes from the exact amounts. A metric's
score is a robust z-score: how many spreads (1.4826 x the median absolute
deviation of its history, never less than `min_scale`) this value is from the
median of its history. Scores, thresholds and ratios are statistics: they are
compared as floats, which is never done with money.

The defaults below are the product's; the reviewed file
`include/overrides/monitoring_thresholds.csv` (or `REVCERT_MONITORING_THRESHOLDS_FILE`)
replaces a metric's thresholds, one row per metric, each with a reason and an
approver. After transform monitoring only warns: a hold there would come after
the mart was rebuilt, so those metrics refuse a hold threshold.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from revcert.methodology.reviewed_files import empty_columns, refuse_problems, reviewed_file, reviewed_rows

COLUMNS = ("metric", "warn_score", "hold_score", "min_history", "min_scale", "direction", "reason", "approver")
DIRECTIONS = ("up", "down", "both")
# How many earlier observations a batch metric is compared with; a shop-day is compared with the same weekday
# of this many weeks before it.
HISTORY_WINDOW = 20
WEEKDAYS_WINDOW = 8

Point = Literal["batch", "figures"]


class ThresholdsFileError(ValueError):
    """The monitoring thresholds file breaks its format; the message names the lines."""


@dataclass(frozen=True)
class Thresholds:
    """When a metric's score is a warning or a hold.

    Attributes:
        warn_score: A score at least this far from the baseline (in `direction`) is a warning.
        hold_score: ... is a hold: the run stops before transform (None: the metric never holds).
        min_history: Earlier observations needed before the metric may warn or hold; below it, it is recorded.
        min_scale: The smallest spread a score is measured in (the metric's own unit): a history that never
            moved does not make the smallest move an anomaly.
        direction: Which moves count: `up`, `down` or `both`.
        set_by: `default`, or the reviewed file's reason and approver.
    """

    warn_score: float
    hold_score: float | None
    min_history: int
    min_scale: float
    direction: str
    set_by: str = "default"

    def as_record(self, window: int) -> dict[str, Any]:
        """The thresholds as an observation records them, with the history window used."""
        return {**asdict(self), "window": window}


@dataclass(frozen=True)
class Metric:
    point: Point
    description: str
    defaults: Thresholds


METRICS: dict[str, Metric] = {
    "records_changed": Metric(
        "batch", "records the batch read: per Salesforce object, or a shop's orders",
        Thresholds(warn_score=6, hold_score=None, min_history=5, min_scale=10, direction="both")),
    "deleted_share": Metric(
        "batch", "the share of an object's records the batch deleted: deletions / (live records + deletions)",
        Thresholds(warn_score=4, hold_score=8, min_history=5, min_scale=0.01, direction="up")),
    "live_records_change": Metric(
        "batch", "the relative change of the source's live records (a shop's orders) since the previous batch",
        Thresholds(warn_score=4, hold_score=None, min_history=5, min_scale=0.01, direction="both")),
    "new_accounts": Metric(
        "batch", "accounts the batch brought for the first time",
        Thresholds(warn_score=6, hold_score=None, min_history=5, min_scale=5, direction="up")),
    "control_sum_change": Metric(
        "batch", "the relative change of a control sum of the source (subscriptions: quantity, net price) since "
                 "the previous batch",
        Thresholds(warn_score=4, hold_score=None, min_history=5, min_scale=0.01, direction="both")),
    "ending_mrr_change": Metric(
        "figures", "the as-of month's ending MRR of a business unit (and of all of them) relative to the one "
                   "published for the latest month up to it",
        Thresholds(warn_score=4, hold_score=None, min_history=5, min_scale=0.02, direction="both")),
    "shop_day_orders": Metric(
        "figures", "orders that count on a complete local day of a shop, against the same weekday before it",
        Thresholds(warn_score=4, hold_score=None, min_history=5, min_scale=5, direction="both")),
    "shop_day_net_revenue_change": Metric(
        "figures", "a complete day's net revenue relative to the median of the shop's published same weekday "
                   "over the 8 weeks before it, against the same weekday before it",
        Thresholds(warn_score=4, hold_score=None, min_history=5, min_scale=0.1, direction="both")),
}


def _number(text: str, column: str, problems: list[str], number: int, *, whole: bool = False) -> float | None:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        problems.append(f"line {number}: {column} must be a {'whole ' if whole else ''}number, not {text!r}")
        return None
    if value <= 0:
        problems.append(f"line {number}: {column} must be above zero, not {text!r}")
        return None
    return value


def _row_thresholds(number: int, values: dict[str, str], problems: list[str]) -> Thresholds | None:
    metric = METRICS.get(values["metric"])
    if metric is None:
        problems.append(f"line {number}: unknown metric {values['metric']!r} (known: {', '.join(METRICS)})")
        return None
    before = len(problems)
    warn = _number(values["warn_score"], "warn_score", problems, number)
    hold = _number(values["hold_score"], "hold_score", problems, number) if values["hold_score"] else None
    history = _number(values["min_history"], "min_history", problems, number, whole=True)
    scale = _number(values["min_scale"], "min_scale", problems, number)
    if values["direction"] not in DIRECTIONS:
        problems.append(f"line {number}: direction must be one of {', '.join(DIRECTIONS)}, "
                        f"not {values['direction']!r}")
    if hold is not None and metric.point == "figures":
        problems.append(f"line {number}: {values['metric']} is observed after transform, where monitoring only "
                        "warns: leave hold_score empty")
    elif hold is not None and warn is not None and hold < warn:
        problems.append(f"line {number}: hold_score {values['hold_score']} is below warn_score "
                        f"{values['warn_score']}")
    if len(problems) > before:
        return None
    return Thresholds(warn, hold, int(history), scale, values["direction"],
                      set_by=f"{values['reason']} (approved by {values['approver']})")


def read_thresholds(path: Path | None = None) -> dict[str, Thresholds]:
    """Every metric's thresholds: the defaults, replaced by the reviewed file's row where it has one.

    Raises:
        ThresholdsFileError: A row breaks the format (every problem named by its line number).
    """
    source = reviewed_file("monitoring_thresholds.csv", path)
    problems: list[str] = []
    chosen = {name: metric.defaults for name, metric in METRICS.items()}
    seen: set[str] = set()
    for number, values in reviewed_rows(source, COLUMNS, ThresholdsFileError):
        empty = [c for c in empty_columns(values) if c != "hold_score"]
        if empty:
            problems.append(f"line {number}: {', '.join(empty)} must not be empty (every row needs a reason "
                            "and an approver)")
        elif values["metric"] in seen:
            problems.append(f"line {number}: metric {values['metric']} is set twice")
        else:
            seen.add(values["metric"])
            thresholds = _row_thresholds(number, values, problems)
            if thresholds is not None:
                chosen[values["metric"]] = thresholds
    refuse_problems(source, problems, ThresholdsFileError)
    return chosen

