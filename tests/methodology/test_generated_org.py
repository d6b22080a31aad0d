"""On a realistic generated org: the mart and the independent derivation agree to the cent
on every month and business unit, and the movement identity holds everywhere."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from revcert.certification.bridge_comparison import compare_bridges, read_mart_bridge
from revcert.certification.independent_derivation import derive_bridge, read_staging
from revcert.methodology.identity import movement_identity_breaks
from revcert.methodology.mart import build_mart
from revcert.settings import Settings
from revcert.sqlfiles import load_sql

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("as_of", [date(2026, 11, 21), date(2024, 2, 29), date(2025, 12, 31)])
def test_mart_equals_the_independent_derivation(staged_default_org, as_of):
    with psycopg.connect(staged_default_org) as conn:
        build_mart(conn, as_of, [])
        mart = read_mart_bridge(conn)
        breaks = movement_identity_breaks(conn)
        movements = dict(conn.execute("select movement_type, count(*) from mart.mart_customer_movement "
                                      "group by movement_type").fetchall())
        graced = conn.execute("select count(*) from mart.mart_renewal_grace where grace_days > 0").fetchone()[0]
        conn.rollback()
        derived = derive_bridge(read_staging(conn), as_of, Settings().renewal_grace_days)
    assert breaks == []
    assert compare_bridges(mart, derived) == []
    assert {"NA", "EMEA", "APAC", "LATAM", "UNASSIGNED"} <= {unit for _, unit in mart}
    assert max(month for month, _ in mart) == as_of.replace(day=1)
    assert all(movements.get(kind, 0) > 10 for kind in ("new", "expansion", "contraction", "churn", "winback"))
    assert graced > 10


def test_a_one_cent_change_in_the_mart_is_caught(staged_default_org):
    as_of = date(2026, 11, 21)
    with psycopg.connect(staged_default_org) as conn:
        build_mart(conn, as_of, [])
        conn.execute("update mart.mart_customer_snapshot set ending_mrr = ending_mrr + 0.01 where (customer_id, month) "
                     "= (select customer_id, month from mart.mart_customer_snapshot where ending_mrr > 0 "
                     "order by customer_id, month limit 1)")
        conn.execute("truncate mart.mart_mrr_bridge")
        conn.execute("insert into mart.mart_mrr_bridge " + load_sql("mart", "mart_mrr_bridge"))
        breaks = movement_identity_breaks(conn)
        mart = read_mart_bridge(conn)
        conn.rollback()
        derived = derive_bridge(read_staging(conn), as_of, Settings().renewal_grace_days)
    differences = compare_bridges(mart, derived)
    assert [(d.figure, d.difference) for d in differences] == [("ending_mrr", Decimal("0.01"))]
    assert sorted(b.business_unit is None for b in breaks) == [False, True]
    assert all(b.difference == Decimal("-0.01") and len(b.customer_ids) == 1 for b in breaks)
