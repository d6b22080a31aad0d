"""The movement identity (METHODOLOGY.md A8), checked exactly from the stored mart tables."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg

from revcert.sqlfiles import load_sql


@dataclass(frozen=True)
class IdentityBreak:
    """A month and business unit (or the total, business_unit None) whose movements do not add up."""

    month: date
    business_unit: str | None
    movements: Decimal
    ending_minus_starting: Decimal
    customer_ids: tuple[str, ...]

    @property
    def difference(self) -> Decimal:
        return self.movements - self.ending_minus_starting


def movement_identity_breaks(conn: psycopg.Connection) -> list[IdentityBreak]:
    """Sum of movements = sum of ending MRR - sum of starting MRR, per month and unit and in total."""
    return [IdentityBreak(month, unit, movements, change, tuple(customers or ()))
            for month, unit, movements, change, customers in conn.execute(load_sql("mart/checks",
                                                                                   "movement_identity"))]
