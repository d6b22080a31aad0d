"""Check 4 of Part C: the mart's bridge against the independent derivation, to the cent."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg

from revcert.certification.independent_derivation import BRIDGE_FIELDS, BridgeFigures
from revcert.sqlfiles import load_sql


@dataclass(frozen=True)
class FigureDifference:
    """One figure of one month and business unit on which the two implementations disagree."""

    month: date
    business_unit: str
    figure: str
    mart: Decimal | int | None
    derived: Decimal | int | None

    @property
    def difference(self) -> Decimal | int | None:
        if self.mart is None or self.derived is None:
            return None
        return self.mart - self.derived


def read_mart_bridge(conn: psycopg.Connection) -> dict[tuple[date, str], BridgeFigures]:
    cursor = conn.execute(load_sql("certification", "mart_bridge_figures"))
    names = [column.name for column in cursor.description]
    bridge = {}
    for row in cursor:
        values = dict(zip(names, row))
        key = (values.pop("month"), values.pop("business_unit"))
        bridge[key] = BridgeFigures(**values)
    return bridge


def compare_bridges(mart: dict[tuple[date, str], BridgeFigures],
                    derived: dict[tuple[date, str], BridgeFigures]) -> list[FigureDifference]:
    """Every figure that differs, and every month and unit that only one side has."""
    differences = []
    for key in sorted(set(mart) | set(derived)):
        month, unit = key
        ours, theirs = mart.get(key), derived.get(key)
        for name in BRIDGE_FIELDS:
            mart_value = getattr(ours, name) if ours else None
            derived_value = getattr(theirs, name) if theirs else None
            if mart_value != derived_value:
                differences.append(FigureDifference(month, unit, name, mart_value, derived_value))
    return differences

