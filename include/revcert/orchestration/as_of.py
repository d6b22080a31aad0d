"""The as-of date of a run, and the rule that it is never in the future.

A run certifies as of the `as_of` param when given, else as of its logical
date (a scheduled or backfilled run) or the moment it was triggered, in the
business timezone. A date later than today there is refused: by the trigger
form (the param's schema), by `revcert run`, and by the run's first task, so a
typo such as 2027 for 2026 never certifies contracted future figures.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jsonschema import FormatChecker

NOT_FUTURE = "revcert-not-future-date"


class FutureAsOfDate(ValueError):
    """An as-of date later than today in the business timezone."""


def business_today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def refuse_future(as_of: date, timezone: str) -> date:
    today = business_today(timezone)
    if as_of > today:
        raise FutureAsOfDate(f"as-of date {as_of} is later than today ({today} in {timezone}): figures as of a "
                             "future date would be certified from contracted data, not what happened")
    return as_of


def requested_as_of(context: dict[str, Any], timezone: str) -> date:
    """The as-of date a run asks for (see the module docstring), future or not."""
    requested = (context.get("params") or {}).get("as_of")
    if requested:
        return date.fromisoformat(requested)
    dag_run = context["dag_run"]
    moment: datetime = dag_run.logical_date or dag_run.run_after
    return moment.astimezone(ZoneInfo(timezone)).date()


def run_as_of(context: dict[str, Any], timezone: str) -> date:
    """The run's as-of date; a future one raises FutureAsOfDate."""
    return refuse_future(requested_as_of(context, timezone), timezone)


def register_not_future_format(timezone: str) -> None:
    """Teach jsonschema the `revcert-not-future-date` format the `as_of` param declares.

    Airflow validates a trigger's conf with jsonschema's FormatChecker wherever
    the DAG or the plugin is loaded (api-server, scheduler, dag.test); a format
    a process does not know is ignored there, and the run's first task refuses
    the date anyway.
    """
    def not_future(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            return date.fromisoformat(value) <= business_today(timezone)
        except ValueError:
            return True  # the `date` format reports a malformed date

    FormatChecker.checkers[NOT_FUTURE] = (not_future, ())
