"""Every rule a record can break stops the mart with one error naming the rule and every record."""
from __future__ import annotations

from datetime import date

import psycopg
import pytest

from revcert.methodology import mart
from revcert.methodology.errors import MethodologyError
from revcert.methodology.mart import MODELS, build_mart
from revcert.methodology.overrides import ClassificationOverride
from revcert.sqlfiles import load_sql
from tests.org_builder import OrgBuilder
from tests.staged_edits import open_staging_batch

pytestmark = pytest.mark.integration
AS_OF = date(2026, 6, 30)


def healthy_org() -> tuple[OrgBuilder, str]:
    org = OrgBuilder()
    account = org.account("Healthy", "NA")
    contract = org.contract(account, "2026-01-01", "2026-12-31")
    org.line(contract, "12000.00")
    return org, account


def refused(url: str, org: OrgBuilder, overrides=()) -> MethodologyError:
    with psycopg.connect(url) as conn:
        org.write(conn)
        with pytest.raises(MethodologyError) as error:
            build_mart(conn, AS_OF, list(overrides))
    return error.value


def rule_records(error: MethodologyError, rule: str) -> list[str]:
    return next(f.record_ids for f in error.failures if f.rule == rule)


def test_end_before_start_names_every_line(warehouse_url):
    org, account = healthy_org()
    contract = org.contract(account, "2026-01-01", "2026-12-31")
    bad = [org.line(contract, "1200.00", start="2026-05-01", end="2026-04-30"),
           org.line(contract, "1200.00", start="2026-09-01", end="2026-08-01")]
    org.line(contract, "1200.00", start="2026-06-01", terminated="2026-05-01")
    error = refused(warehouse_url, org)
    assert sorted(rule_records(error, "line_end_before_start")) == sorted(bad)
    assert "service 2026-05-01..2026-04-30" in str(error)


def test_missing_rate_names_every_line_and_the_currency(warehouse_url):
    org, account = healthy_org()
    org.rate("EUR", "0.9", "2026-01-01", "2026-07-01")
    contract = org.contract(account, "2026-01-01", "2026-12-31")
    bad = [org.line(contract, "100.00", currency="GBP"), org.line(contract, "100.00", currency="EUR",
                                                                  start="2026-07-01")]
    org.line(contract, "100.00", currency="EUR")
    error = refused(warehouse_url, org)
    assert sorted(rule_records(error, "missing_conversion_rate")) == sorted(bad)
    assert "currency EUR at 2026-07-01" in str(error) and "currency GBP at 2026-01-01" in str(error)


def test_missing_price_or_quantity_and_bad_prorate(warehouse_url):
    org, account = healthy_org()
    contract = org.contract(account, "2026-01-01", "2026-12-31")
    no_price = org.line(contract, None)
    no_quantity = org.line(contract, "100.00", quantity=None)
    zero_prorate = org.line(contract, "100.00", prorate="0")
    negative_prorate = org.line(contract, "100.00", prorate="-0.5")
    org.line(contract, "100.00", kind="one_time", quantity=None)
    error = refused(warehouse_url, org)
    assert sorted(rule_records(error, "missing_price_or_quantity")) == sorted([no_price, no_quantity])
    assert sorted(rule_records(error, "bad_prorate_multiplier")) == sorted([zero_prorate, negative_prorate])


def test_lines_without_their_contract(warehouse_url):
    org, _ = healthy_org()
    orphans = [org.line("800MISSING", "100.00"), org.line("800GONE", "100.00")]
    error = refused(warehouse_url, org)
    assert sorted(rule_records(error, "line_without_contract")) == sorted(orphans)


def merged_org() -> tuple[OrgBuilder, str, str, str]:
    org = OrgBuilder()
    first, second = org.account("First", "NA"), org.account("Second", "EMEA")
    c1 = org.contract(first, "2025-01-01", "2025-12-31")
    c2 = org.contract(second, "2025-01-01", "2025-12-31")
    c3 = org.contract(first, "2026-01-01", "2026-12-31", renews=c1, link="opportunity")
    org.link_renewal(c2, c3)
    for contract in (c1, c2, c3):
        org.line(contract, "12000.00")
    return org, first, second, c3


def test_merged_customers_are_refused_naming_both(warehouse_url):
    org, first, second, merged = merged_org()
    error = refused(warehouse_url, org)
    assert rule_records(error, "merged_customers") == [merged]
    assert f"predecessors belong to customers {', '.join(sorted([first, second]))}" in str(error)


def test_an_override_resolves_a_merge_and_is_reported(warehouse_url):
    org, first, second, merged = merged_org()
    override = ClassificationOverride(merged, second, "Second acquired First's contract in 2026", "CFO J. Doe")
    with psycopg.connect(warehouse_url) as conn:
        org.write(conn)
        build = build_mart(conn, AS_OF, [override])
        customer = conn.execute("select customer_id from mart.mart_contract_customer where contract_id = %s",
                                [merged]).fetchone()[0]
    assert customer == second
    assert build.overrides_used == (override,)


def test_an_override_breaks_a_cycle(warehouse_url):
    org = OrgBuilder()
    account = org.account("Cycle", "NA")
    c1 = org.contract(account, "2025-01-01", "2025-12-31")
    c2 = org.contract(account, "2026-01-01", "2026-12-31", renews=c1)
    org.link_renewal(c2, c1)
    org.line(c1, "12000.00")
    org.line(c2, "12000.00")
    assert sorted(rule_records(refused(warehouse_url, org), "renewal_cycle")) == sorted([c1, c2])
    with psycopg.connect(warehouse_url) as conn:
        build = build_mart(conn, AS_OF, [ClassificationOverride(c1, account, "C1 is the original", "Controller")])
        months = conn.execute("select count(*) from mart.mart_mrr_bridge").fetchone()[0]
    assert [o.contract_id for o in build.overrides_used] == [c1]
    assert months == 18


def test_a_failed_build_leaves_the_previous_mart(warehouse_url):
    org, account = healthy_org()
    with psycopg.connect(warehouse_url) as conn:
        org.write(conn)
        build_mart(conn, AS_OF, [])
        conn.commit()
        open_staging_batch(conn)
        conn.execute("update staging.stg_subscription_line set net_price = null")
        with pytest.raises(MethodologyError):
            build_mart(conn, AS_OF, [])
        conn.rollback()
        assert conn.execute("select sum(ending_mrr) from mart.mart_mrr_bridge").fetchone()[0] > 0


def mart_catalogue(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("select tablename, indexname, indexdef from pg_indexes where schemaname = 'mart' "
                        "order by 1, 2").fetchall()


def test_a_build_leaves_every_key_and_index_as_declared_and_the_tables_analysed(warehouse_url):
    org, _ = healthy_org()
    with psycopg.connect(warehouse_url) as conn:
        declared = mart_catalogue(conn)
        org.write(conn)
        build_mart(conn, AS_OF, [])
        conn.commit()
        assert mart_catalogue(conn) == declared
        never_analysed = conn.execute(
            "select relname from pg_stat_user_tables where schemaname = 'mart' and relname = any(%s) "
            "and last_analyze is null", [list(MODELS)]).fetchall()
        assert never_analysed == []


def test_a_model_that_repeats_its_grain_is_refused_though_its_key_is_built_after_its_rows(warehouse_url,
                                                                                          monkeypatch):
    # No record can make a model repeat its grain today (the checks refuse such data first), so one model is
    # made to emit each of its rows twice.
    def twice(directory: str, name: str) -> str:
        query = load_sql(directory, name)
        if name != "mart_customer_snapshot":
            return query
        return f"select * from ({query}) as once union all select * from ({query}) as again"

    monkeypatch.setattr(mart, "load_sql", twice)
    org, _ = healthy_org()
    with psycopg.connect(warehouse_url) as conn:
        org.write(conn)
        with pytest.raises(MethodologyError) as error:
            build_mart(conn, AS_OF, [])
    assert [failure.rule for failure in error.value.failures] == ["model_refused_data"]
    assert "mart_customer_snapshot" in str(error.value) and "duplicate" in str(error.value).lower()
