"""Check 5 of Part C: shadow metrics, computed on every run from the same mart and compared with production.

A shadow is an alternative calculation (`sql/shadow/<name>.sql`) with a
declared comparison: which production figures (`sql/shadow/production/`), at
what grain, which figures, what tolerance. Its differences are recorded in the certification record, run
after run, so finance can see what switching would change before it does. A
shadow reports and never blocks publishing (`check_definition.blocks_publishing`
is false for check 5). Promoting one is a reviewed change: its model moves to
`sql/mart/`, the independent derivation learns the same reading, and its entry
here goes.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg import sql

from revcert.certification.record import CheckResult
from revcert.sqlfiles import load_sql

_DIFFERENCES_RECORDED = 500


@dataclass(frozen=True)
class ShadowMetric:
    name: str
    description: str
    production: str
    grain: tuple[str, ...]
    figures: tuple[str, ...]
    tolerance: Decimal = Decimal("0.00")


MRR_SHADOWS = (
    ShadowMetric(
        "mrr_bridge_without_renewal_grace",
        "the bridge in total with the renewal grace at 0 days: how much of churn and winback is renewal timing",
        "mrr_bridge_total", ("month",),
        ("starting_mrr", "new", "expansion", "contraction", "churn", "winback", "ending_mrr")),
)
# Run per shop, with its id as `shop_id`.
SHOP_SHADOWS = (
    ShadowMetric(
        "shop_day_refunds_on_refund_dates",
        "the shop's days with every refund on its own local date: what refund-date attribution would move",
        "shop_days_in_scope", ("day",), ("refunds", "net_revenue", "refund_count")),
)


def _rows(conn: psycopg.Connection, query: str, shadow: ShadowMetric, params: dict[str, object]
          ) -> dict[tuple, dict[str, Decimal]]:
    names = [*shadow.grain, *shadow.figures]
    rows = {}
    for values in conn.execute(sql.SQL("select {} from ({}) as rows").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(query)), params):
        row = dict(zip(names, values))
        rows[tuple(row.pop(key) for key in shadow.grain)] = row
    return rows


def shadow_differences(production: dict[tuple, dict[str, Decimal]], shadow_rows: dict[tuple, dict[str, Decimal]],
                       shadow: ShadowMetric) -> list[dict[str, object]]:
    """Every figure on which the shadow and production differ by more than the tolerance (absent rows: zero)."""
    differences = []
    for key in sorted(set(production) | set(shadow_rows)):
        for figure in shadow.figures:
            ours = production.get(key, {}).get(figure, Decimal(0))
            theirs = shadow_rows.get(key, {}).get(figure, Decimal(0))
            if abs(theirs - ours) > shadow.tolerance:
                differences.append({"shadow": shadow.name, **dict(zip(shadow.grain, key)), "figure": figure,
                                    "production": ours, "shadow_value": theirs, "difference": theirs - ours})
    return differences


def check_shadow_views(conn: psycopg.Connection, shadows: tuple[ShadowMetric, ...] = MRR_SHADOWS,
                       params: dict[str, object] | None = None) -> CheckResult:
    """5. Each shadow against its production counterpart; it reports the differences and never fails on them."""
    found, summaries = [], []
    for shadow in shadows:
        production = _rows(conn, load_sql("shadow/production", shadow.production), shadow, params or {})
        differences = shadow_differences(production, _rows(conn, load_sql("shadow", shadow.name), shadow,
                                                           params or {}), shadow)
        found += differences
        rows = {tuple(d[key] for key in shadow.grain) for d in differences}
        summaries.append(f"{shadow.name}: " + (f"{len(differences)} figure(s) differ from production in "
                                               f"{len(rows)} row(s)" if differences else "equal to production"))
    return CheckResult("shadow_views", True, "; ".join(summaries), found[:_DIFFERENCES_RECORDED])
