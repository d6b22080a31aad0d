"""On a realistic generated org: the mart and the independent derivation agree to the cent
on every month and business unit, and the movement identity holds everywhere."""
from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from revcert.certification import independent_derivation
from revcert.certification.figure_comparison import compare_figures, compare_with_mart, read_mart_figures
from revcert.certification.independent_derivation import derive_figures, read_staging
from revcert.methodology.identity import movement_identity_breaks
from revcert.methodology.mart import build_mart, model_statement
from revcert.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("as_of", [date(2026, 11, 21), date(2024, 2, 29), date(2025, 12, 31)])
def test_mart_equals_the_independent_derivation(staged_default_org, as_of):
    with psycopg.connect(staged_default_org) as conn:
        build_mart(conn, as_of, [])
        mart = read_mart_figures(conn)
        breaks = movement_identity_breaks(conn)
        movements = dict(conn.execute("select movement_type, count(*) from mart.mart_customer_movement "
                                      "group by movement_type").fetchall())
        graced = conn.execute("select count(*) from mart.mart_renewal_grace where grace_days > 0").fetchone()[0]
        comparison = compare_with_mart(conn, read_staging(conn), as_of, Settings().renewal_grace_days, [])
        detail = conn.execute("select (select count(*) from mart.mart_customer_month) + (select count(*) from "
                              "mart.mart_customer_line) + (select count(*) from mart.mart_customer_contract)"
                              ).fetchone()[0]
    assert breaks == []
    assert comparison.differences == [] and comparison.rows_compared > detail > 0
    # Every customer's derived rows written and hashed as the server hashed the mart's: no rows had to be read.
    assert comparison.customers_compared == comparison.customers > 0 and comparison.customers_read == 0
    bridge = mart["mart_mrr_bridge"]
    assert {"NA", "EMEA", "APAC", "LATAM", "UNASSIGNED"} <= {unit for _, unit in bridge}
    assert max(month for month, _ in bridge) == as_of.replace(day=1)
    assert len(mart["mart_mrr_bridge_total"]) == len({month for month, _ in bridge})
    assert len(mart["mart_cohort_retention"]) > len(bridge)
    assert all(movements.get(kind, 0) > 10 for kind in ("new", "expansion", "contraction", "churn", "winback"))
    assert graced > 10


def test_a_one_cent_change_in_the_mart_is_caught(staged_default_org):
    as_of = date(2026, 11, 21)
    with psycopg.connect(staged_default_org) as conn:
        build_mart(conn, as_of, [])
        conn.execute("update mart.mart_customer_snapshot set ending_mrr = ending_mrr + 0.01 where (customer_id, month) "
                     "= (select customer_id, month from mart.mart_customer_snapshot where ending_mrr > 0 "
                     "order by customer_id, month limit 1)")
        downstream = ("mart_customer_month", "mart_mrr_bridge", "mart_mrr_bridge_total", "mart_cohort_retention",
                      "mart_cohort_retention_total")
        for model in downstream:
            conn.execute(f"truncate mart.{model}")
        for model in downstream:
            conn.execute(model_statement(model), {"as_of_date": as_of, "renewal_grace_days": 31, "whole": True,
                                                       "rebuilt_month": None})
        breaks = movement_identity_breaks(conn)
        mart = read_mart_figures(conn)
        conn.rollback()
        derived = derive_figures(read_staging(conn), as_of, Settings().renewal_grace_days)
    differences = compare_figures(mart, derived)
    bridge = [(d.table, d.figure, d.difference) for d in differences if d.table.startswith("mart_mrr_bridge")]
    assert sorted(bridge) == [("mart_mrr_bridge", "ending_mrr", Decimal("0.01")),
                              ("mart_mrr_bridge_total", "ending_mrr", Decimal("0.01"))]
    # The tampered month is the customer's cohort month: its cohort's starting MRR moves in every month too.
    cohort = [d for d in differences if d.table.startswith("mart_cohort")]
    assert {d.table for d in cohort} == {"mart_cohort_retention", "mart_cohort_retention_total"}
    assert {d.difference for d in cohort if not d.figure.endswith("_pct")} == {Decimal("0.01")}
    assert sorted(b.business_unit is None for b in breaks) == [False, True]
    assert all(b.difference == Decimal("-0.01") and len(b.customer_ids) == 1 for b in breaks)


def test_the_derivation_split_between_processes_compares_as_one_process_does(staged_default_org, monkeypatch):
    """Check 4 as certification runs it with the derivation in three processes (the generated org is small: the
    lines each process needs are lowered to split it): equal figures, every customer compared by digest; and a
    cent changed in a forked part's customer is named as in one process."""
    monkeypatch.setattr(independent_derivation, "LINES_PER_PROCESS", 100)
    as_of, grace = date(2026, 11, 21), Settings().renewal_grace_days
    with psycopg.connect(staged_default_org) as conn:
        build_mart(conn, as_of, [])
        staged = read_staging(conn)
        # Which process derived each customer: the parts are whatever the derivation made of this org.
        derived_by: list[tuple[int, str]] = []
        assert derive_figures(staged, as_of, grace, (), derived_by.append,
                              summarise=lambda detail: (os.getpid(), detail.customer_id),
                              processes=3) == derive_figures(staged, as_of, grace)
        pids = list(dict.fromkeys(pid for pid, _ in derived_by))
        assert len(pids) == 3
        split = compare_with_mart(conn, staged, as_of, grace, [], processes=3)
        assert (split.differences, split.customers_read) == ([], 0)
        assert split.customers_compared == split.customers == compare_with_mart(conn, staged, as_of, grace,
                                                                                 []).customers
        third_part = [customer_id for pid, customer_id in derived_by if pid == pids[2]]
        customer = third_part[len(third_part) // 2]
        conn.execute("update mart.mart_customer_month set recognized_revenue = recognized_revenue + 0.01 "
                     "where customer_id = %s and month = (select max(month) from mart.mart_customer_month "
                     "where customer_id = %s)", [customer, customer])
        named = [compare_with_mart(conn, staged, as_of, grace, [], processes=processes)
                 for processes in (1, 3)]
        conn.rollback()
    assert named[0].differences == named[1].differences
    assert [(d.table, d.where["customer_id"], d.figure, d.difference) for d in named[1].differences] == [
        ("mart_customer_month", customer, "recognized_revenue", Decimal("0.01"))]
    assert named[1].customers_read == 1
