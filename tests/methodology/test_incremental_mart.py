"""An incremental build recomputes only the lines and contracts a newer batch or a changed rate reaches, then only
the customers whose inputs changed, and leaves the mart exactly as a whole build on the same staging would: every
table, row for row, after changes that reach other customers through renewal chains, accounts, rates, products
and contracts."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from revcert.methodology import mart
from revcert.methodology.mart import (
    MODELS,
    BuildBasis,
    build_mart,
    models_digest,
    rebuilt_month,
    too_many_changed,
    whole_build_reason,
)
from revcert.methodology.overrides import ClassificationOverride
from revcert.sqlfiles import load_sql
from tests.conftest import copy_database
from tests.staged_edits import open_staging_batch

AS_OF = date(2026, 11, 21)
BASIS = BuildBasis(AS_OF, 31, "USD", "the digest of the models' SQL")


def test_a_build_is_whole_when_what_every_customer_depends_on_moved():
    assert whole_build_reason(BASIS, BASIS) is None
    assert whole_build_reason(None, BASIS) == (
        "no earlier build kept its customers' inputs (the first build, one from before input digests, or a crash "
        "emptied the mart)")
    assert whole_build_reason(BASIS, replace(BASIS, as_of_date=date(2026, 11, 20))) == (
        "the as-of date moved from 2026-11-21 to 2026-11-20, back")
    # 2026-11-21 is a Saturday: the Monday after starts the weekly full recompute.
    assert whole_build_reason(BASIS, replace(BASIS, as_of_date=date(2026, 11, 23))) == (
        "the as-of date moved from 2026-11-21 to 2026-11-23, into another week (the weekly full recompute)")
    assert whole_build_reason(replace(BASIS, as_of_date=date(2026, 11, 30)), replace(
        BASIS, as_of_date=date(2026, 12, 1))) == (
        "the as-of date moved from 2026-11-30 to 2026-12-01, into another month")
    assert whole_build_reason(BASIS, replace(BASIS, renewal_grace_days=30)) == (
        "the renewal grace changed from 31 to 30 days")
    assert whole_build_reason(BASIS, replace(BASIS, reporting_currency="EUR")) == (
        "the reporting currency changed from USD to EUR")
    assert whole_build_reason(BASIS, replace(BASIS, models_digest="a model's SQL edited")) == (
        "the models changed since the last build")


def test_the_as_of_date_moving_on_within_its_week_and_month_rebuilds_the_as_of_month():
    sunday = replace(BASIS, as_of_date=date(2026, 11, 22))
    assert whole_build_reason(BASIS, sunday) is None
    assert rebuilt_month(BASIS, sunday) == date(2026, 11, 1)
    assert rebuilt_month(BASIS, BASIS) is None
    # Anything else that every customer depends on still makes the build whole.
    assert whole_build_reason(BASIS, replace(sunday, renewal_grace_days=30)) == (
        "the renewal grace changed from 31 to 30 days")


def mart_state(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Every mart model's rows as PostgreSQL's row text (a numeric's scale included), in key order."""
    return {model: [row[0] for row in conn.execute(sql.SQL("select model::text from {} as model order by model")
                                                   .format(sql.Identifier("mart", model)))] for model in MODELS}


def line_ids(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select subscription_line_id from mart.mart_subscription_line")}


def customers_of(conn: psycopg.Connection, where: str, params: list | None = None) -> set[str]:
    return {row[0] for row in conn.execute(
        "select distinct contract_customers.customer_id from mart.mart_subscription_line as lines "
        "join mart.mart_contract_customer as contract_customers using (contract_id) "
        f"where contract_customers.customer_id is not null and {where}", params or []).fetchall()}


def scope(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select customer_id from mart.mart_customer_scope")}


def input_scope(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select customer_id from mart.mart_customer_input_scope")}


@pytest.fixture
def built_org(postgres_server, staged_default_org) -> str:
    url = copy_database(postgres_server, staged_default_org)
    with psycopg.connect(url) as conn:
        build_mart(conn, AS_OF, [], whole_because="the test's starting point")
    return url


def change_records_that_reach_other_customers(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Change staging the way an incremental extraction would, in every way that reaches other customers;
    returns, per change, the customers it must bring into scope."""
    open_staging_batch(conn)
    reached = {}
    # A line repriced, a line deleted, an amendment line added to a live contract.
    repriced, deleted = [row[0] for row in conn.execute(
        "select subscription_line_id from mart.mart_service_interval order by subscription_line_id limit 2")]
    reached["lines"] = customers_of(conn, "subscription_line_id = any(%s)", [[repriced, deleted]])
    conn.execute("update staging.stg_subscription_line set net_price = net_price + 1 "
                 "where subscription_line_id = %s", [repriced])
    conn.execute("update staging.stg_subscription_line set is_deleted = true where subscription_line_id = %s",
                 [deleted])
    amended = conn.execute("select subscription_line_id from mart.mart_service_interval "
                           "order by subscription_line_id desc limit 1").fetchone()[0]
    reached["amendment"] = customers_of(conn, "subscription_line_id = %s", [amended])
    columns = ("subscription_line_id, account_id, contract_id, product_id, revised_subscription_line_id, "
               "currency_iso_code, quantity, net_price, prorate_multiplier, start_date, end_date, terminated_date, "
               "is_deleted, system_modstamp, batch_id")
    conn.execute(f"insert into staging.stg_subscription_line ({columns}) select 'amendment-of-' || "
                 "subscription_line_id, account_id, contract_id, product_id, subscription_line_id, currency_iso_code, "
                 "2, net_price, prorate_multiplier, start_date + 30, end_date, terminated_date, is_deleted, "
                 "system_modstamp, batch_id from staging.stg_subscription_line where subscription_line_id = %s",
                 [amended])
    # A renewal link re-pointed: the successor's chain leaves one customer for another.
    successor, old_customer, new_predecessor, new_customer = conn.execute(
        "select successor.contract_id, successor.customer_id, other.contract_id, other.customer_id "
        "from mart.mart_renewal_link as links "
        "join mart.mart_contract_customer as successor on successor.contract_id = links.successor_contract_id "
        "join mart.mart_contract_customer as other on other.customer_id <> successor.customer_id "
        "where links.is_linked_by_opportunity and not links.is_linked_by_contract "
        "order by successor.contract_id, other.contract_id limit 1").fetchone()
    moved = conn.execute("update staging.stg_opportunity set renewed_contract_id = %s where opportunity_id = "
                         "(select opportunity_id from staging.stg_contract where contract_id = %s)",
                         [new_predecessor, successor])
    assert moved.rowcount == 1
    reached["renewal link"] = {old_customer, new_customer}
    # A renewal link without grace removed inside one customer: the contract starts a chain of its own on the
    # same account, so no line changes customer or MRR, but the contracts it renews do.
    unlinked, customer = conn.execute(
        "select successor.contract_id, successor.customer_id from mart.mart_renewal_link as links "
        "join mart.mart_contract_customer as successor on successor.contract_id = links.successor_contract_id "
        "join mart.mart_renewal_grace as grace on grace.contract_id = links.predecessor_contract_id "
        "where grace.grace_days = 0 and links.is_linked_by_opportunity and not links.is_linked_by_contract "
        "and successor.account_id = successor.customer_id and successor.contract_id <> %s "
        "and successor.customer_id <> all(%s) order by successor.contract_id limit 1",
        [successor, [old_customer, new_customer]]).fetchone()
    conn.execute("update staging.stg_opportunity set renewed_contract_id = null where opportunity_id = "
                 "(select opportunity_id from staging.stg_contract where contract_id = %s)", [unlinked])
    reached["renewal link removed"] = {customer}
    # A customer's account moves to another business unit.
    account = conn.execute("select customer_id from mart.mart_customer where business_unit = 'EMEA' "
                           "order by customer_id limit 1").fetchone()[0]
    conn.execute("update staging.stg_account set business_unit = 'APAC' where account_id = %s", [account])
    reached["business unit"] = {account}
    # A dated rate corrected: every line of that currency starting in its period converts again.
    rate_id, iso_code, start, next_start = conn.execute(
        "select dated_conversion_rate_id, iso_code, start_date, next_start_date "
        "from staging.stg_dated_conversion_rate as rates where exists (select 1 from mart.mart_service_interval "
        "join mart.mart_subscription_line as lines using (subscription_line_id) "
        "where lines.currency_iso_code = rates.iso_code and lines.service_start_date >= rates.start_date "
        "and lines.service_start_date < coalesce(rates.next_start_date, 'infinity')) "
        "order by dated_conversion_rate_id limit 1").fetchone()
    reached["rate"] = customers_of(conn, "lines.currency_iso_code = %s and lines.service_start_date >= %s "
                                         "and lines.service_start_date < coalesce(%s, 'infinity'::date)",
                                   [iso_code, start, next_start])
    conn.execute("update staging.stg_dated_conversion_rate set conversion_rate = conversion_rate * 1.01 "
                 "where dated_conversion_rate_id = %s", [rate_id])
    # A contract ends a month early: its lines without their own end follow it.
    contract = conn.execute("select contract_id from mart.mart_subscription_line where line_mrr is not null "
                            "and contract_id is not null order by contract_id limit 1").fetchone()[0]
    reached["contract"] = customers_of(conn, "lines.contract_id = %s", [contract])
    conn.execute("update staging.stg_contract set end_date = end_date - 30 where contract_id = %s", [contract])
    return reached


def test_an_incremental_build_equals_a_whole_build_and_recomputes_only_the_customers_reached(built_org):
    with psycopg.connect(built_org) as conn:
        before = mart_state(conn)
        reached = change_records_that_reach_other_customers(conn)
        incremental = build_mart(conn, AS_OF, [])
        recomputed = scope(conn)
        after_incremental = mart_state(conn)
        whole = build_mart(conn, AS_OF, [], whole_because="the comparison")
        after_whole = mart_state(conn)

    assert incremental.whole_because is None and whole.whole_because == "the comparison"
    for change, customers in reached.items():
        assert customers and customers <= recomputed, change
    assert len(recomputed) == incremental.customers_recomputed < incremental.customers / 5
    assert 0 < incremental.lines_recomputed < whole.lines_recomputed / 10
    assert whole.lines_recomputed == whole.row_counts["mart_subscription_line"]
    changed = [model for model in MODELS if model in before and before[model] != after_whole[model]]
    assert {"mart_customer_month", "mart_mrr_bridge", "mart_customer_line", "mart_customer_contract"} <= set(changed)
    for model in after_whole:
        assert after_incremental[model] == after_whole[model], model
    assert incremental.row_counts == whole.row_counts


def test_a_full_extraction_staged_since_rebuilds_every_line_and_drops_those_purged_from_the_org(built_org):
    with psycopg.connect(built_org) as conn:
        # An incremental batch reads whole only an object that never had a record: nothing was purged.
        open_staging_batch(conn)
        conn.execute("insert into staging.extraction_audit (batch_id, object_name, replication, api, soql, "
                     "records_fetched, deleted_fetched, source_count, staged_count, extracted_at, staged_at) "
                     "select batch_id, 'Order', 'incremental', 'rest', 'never had a record', 0, 0, 0, 0, now(), "
                     "now() from staging.extraction_audit order by batch_id desc limit 1")
        nothing_new = build_mart(conn, AS_OF, [])
        purged = conn.execute("select subscription_line_id from mart.mart_service_interval "
                              "order by subscription_line_id limit 1").fetchone()[0]
        batch = open_staging_batch(conn, full=True)
        conn.execute("delete from staging.stg_subscription_line where subscription_line_id = %s", [purged])
        incremental = build_mart(conn, AS_OF, [])
        after_incremental, lines_after = mart_state(conn), line_ids(conn)
        build_mart(conn, AS_OF, [], whole_because="the comparison")
        assert mart_state(conn) == after_incremental
    assert (nothing_new.lines_recomputed, nothing_new.lines_whole_because, nothing_new.customers_recomputed) == (
        0, None, 0)
    assert incremental.whole_because is None and incremental.customers_recomputed == 1
    assert incremental.lines_whole_because == (f"batch {batch}, staged since the last build, read every object "
                                               "whole, so records purged from the org may have left staging")
    assert incremental.lines_recomputed == incremental.row_counts["mart_subscription_line"]
    assert purged not in lines_after


def test_a_new_rate_reaches_only_the_lines_starting_in_the_period_it_splits(built_org):
    with psycopg.connect(built_org) as conn:
        # The period of a foreign currency with the fewest lines, starting on more than one day.
        rate_id, iso_code, end, starts = conn.execute(
            "select rates.dated_conversion_rate_id, rates.iso_code, rates.next_start_date, "
            "array_agg(lines.service_start_date order by lines.service_start_date) "
            "from staging.stg_dated_conversion_rate as rates "
            "join mart.mart_subscription_line as lines on lines.currency_iso_code = rates.iso_code "
            "and lines.service_start_date >= rates.start_date "
            "and lines.service_start_date < coalesce(rates.next_start_date, 'infinity') "
            "where rates.iso_code <> (select iso_code from mart.mart_reporting_currency) "
            "group by 1, 2, 3 having count(distinct lines.service_start_date) > 1 "
            "order by count(*), 1 limit 1").fetchone()
        of_currency = conn.execute("select count(*) from mart.mart_subscription_line where currency_iso_code = %s",
                                   [iso_code]).fetchone()[0]
        split = starts[-1]
        open_staging_batch(conn)
        copy_as_new(conn, "stg_dated_conversion_rate", ["dated_conversion_rate_id"],
                    "dated_conversion_rate_id = %s", [rate_id])
        conn.execute("update staging.stg_dated_conversion_rate set start_date = %s, conversion_rate = "
                     "conversion_rate * 1.05 where dated_conversion_rate_id = %s", [split, "NEW-" + rate_id])
        conn.execute("update staging.stg_dated_conversion_rate set next_start_date = %s "
                     "where dated_conversion_rate_id = %s", [split, rate_id])
        incremental = build_mart(conn, AS_OF, [])
        after_incremental = mart_state(conn)
        build_mart(conn, AS_OF, [], whole_because="the comparison")
        assert mart_state(conn) == after_incremental
        repriced = conn.execute("select count(*) from mart.mart_subscription_line where currency_iso_code = %s "
                                "and service_start_date >= %s and service_start_date < coalesce(%s, 'infinity')",
                                [iso_code, split, end]).fetchone()[0]
    assert 0 < repriced < incremental.lines_recomputed == len(starts) < of_currency


def test_a_product_corrected_reaches_its_lines_though_none_of_them_changed(built_org):
    with psycopg.connect(built_org) as conn:
        line, product, customer = conn.execute(
            "select subscription_line_id, product_id, customer_id from mart.mart_service_interval "
            "join mart.mart_subscription_line using (subscription_line_id) order by 1 limit 1").fetchone()
        open_staging_batch(conn)
        copy_as_new(conn, "stg_product", ["product_id"], "product_id = %s", [product])
        conn.execute("update staging.stg_subscription_line set product_id = %s where subscription_line_id = %s",
                     ["NEW-" + product, line])
        build_mart(conn, AS_OF, [])
        mrr = conn.execute("select line_mrr from mart.mart_service_interval where subscription_line_id = %s",
                           [line]).fetchone()[0]
        open_staging_batch(conn)
        conn.execute("update staging.stg_product set subscription_term_months = "
                     "coalesce(subscription_term_months, 12) * 2 where product_id = %s", ["NEW-" + product])
        corrected = build_mart(conn, AS_OF, [])
        recomputed, after_incremental = scope(conn), mart_state(conn)
        halved = conn.execute("select line_mrr from mart.mart_service_interval where subscription_line_id = %s",
                              [line]).fetchone()[0]
        build_mart(conn, AS_OF, [], whole_because="the comparison")
        assert mart_state(conn) == after_incremental
    assert (corrected.lines_recomputed, recomputed) == (1, {customer})
    assert abs(halved * 2 - mrr) <= Decimal("0.01")


def test_an_override_brings_both_customers_into_scope_and_no_change_brings_none(built_org):
    with psycopg.connect(built_org) as conn:
        contract, customer, other = conn.execute(
            "select contract_customers.contract_id, contract_customers.customer_id, other.customer_id "
            "from mart.mart_contract_customer as contract_customers "
            "join mart.mart_customer as other on other.customer_id <> contract_customers.customer_id "
            "where exists (select 1 from mart.mart_service_interval as intervals "
            "where intervals.contract_id = contract_customers.contract_id) "
            "order by 1, 3 limit 1").fetchone()
        override = ClassificationOverride(contract, other, "merged into its parent", "controller@example.com")
        first = build_mart(conn, AS_OF, [override])
        assert {customer, other} <= scope(conn)
        overridden = mart_state(conn)
        again = build_mart(conn, AS_OF, [override])
        assert (again.whole_because, again.customers_recomputed) == (None, 0)
        assert mart_state(conn) == overridden
        build_mart(conn, AS_OF, [override], whole_because="the comparison")
        assert mart_state(conn) == overridden
    assert first.whole_because is None and first.overrides_used == (override,)


def test_a_new_week_recomputes_every_customer(built_org):
    with psycopg.connect(built_org) as conn:
        build = build_mart(conn, date(2026, 11, 23), [])
        recorded = conn.execute("select whole_because, customers_recomputed, customers, rebuilt_month "
                                "from mart.mart_build").fetchone()
    assert build.whole_because == ("the as-of date moved from 2026-11-21 to 2026-11-23, into another week (the weekly "
                                   "full recompute)")
    assert recorded == (build.whole_because, build.customers, build.customers, None)
    assert build.customers > 1000 and build.rebuilt_month is None


def test_above_a_quarter_of_the_customers_changed_the_build_is_whole():
    assert too_many_changed(250, 1000) is None
    assert too_many_changed(251, 1000) == "251 of 1,000 customers' inputs changed (more than a quarter)"
    assert too_many_changed(2501, 10000, "lines") == "2,501 of 10,000 lines' inputs changed (more than a quarter)"


def test_a_change_reaching_most_customers_builds_whole(built_org):
    with psycopg.connect(built_org) as conn:
        open_staging_batch(conn)
        conn.execute("update staging.stg_product set product_name = product_name || ' (renamed)'")
        build = build_mart(conn, AS_OF, [])
        after = mart_state(conn)
        build_mart(conn, AS_OF, [], whole_because="the comparison")
        assert mart_state(conn) == after
    assert re.fullmatch(r"[\d,]+ of [\d,]+ customers' inputs changed \(more than a quarter\)", build.whole_because)
    assert build.customers_recomputed == build.customers
    # Every line's product was staged again: the lines are rebuilt whole too.
    assert re.fullmatch(r"[\d,]+ of [\d,]+ lines' inputs changed \(more than a quarter\)", build.lines_whole_because)
    assert build.lines_recomputed == build.row_counts["mart_subscription_line"]


def test_the_models_digest_covers_the_mart_schema_functions_and_the_scope_queries(built_org, monkeypatch):
    with psycopg.connect(built_org) as conn:
        before = models_digest(conn)
        conn.execute("create or replace function mart.round_half_even(value numeric, places integer) returns numeric "
                     "language sql immutable as $$ select round(value, places) $$")
        assert models_digest(conn) != before
        conn.rollback()
        assert models_digest(conn) == before
        monkeypatch.setattr(mart, "load_sql", lambda folder, name: load_sql(folder, name) + (
            " limit 10" if name == "customers_reached_by_changes" else ""))
        assert models_digest(conn) != before


def copy_as_new(conn: psycopg.Connection, table: str, renamed: list[str], where: str, params: list,
                cleared: tuple[str, ...] = (), prefix: str = "NEW-") -> None:
    """Copy staged rows as new records: the `renamed` ids prefixed, the `cleared` columns emptied."""
    columns = [row[0] for row in conn.execute(
        "select column_name from information_schema.columns where table_schema = 'staging' and table_name = %s "
        "order by ordinal_position", [table])]
    values = [sql.SQL("{} || {}").format(sql.Literal(prefix), sql.Identifier(c)) if c in renamed
              else sql.SQL("null") if c in cleared else sql.Identifier(c) for c in columns]
    conn.execute(sql.SQL("insert into {} ({}) select {} from {} where {}").format(
        sql.Identifier("staging", table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(values), sql.Identifier("staging", table), sql.SQL(where)), params)


def test_changes_that_reach_a_customer_through_another_are_recomputed(built_org):
    """A successor overridden to another customer still sets its predecessor's renewal grace; products, accounts
    and contracts renamed, moved, added and deleted."""
    with psycopg.connect(built_org) as conn:
        predecessor, successor, customer = conn.execute(
            "select grace.contract_id, grace.successor_contract_id, contract_customers.customer_id "
            "from mart.mart_renewal_grace as grace join mart.mart_contract_customer as contract_customers "
            "using (contract_id) where grace.grace_days between 1 and 29 and not exists (select 1 from "
            "mart.mart_renewal_link as links where links.predecessor_contract_id = grace.successor_contract_id) "
            "order by 1 limit 1").fetchone()
        other = conn.execute("select customer_id from mart.mart_customer where customer_id <> %s order by 1 limit 1",
                             [customer]).fetchone()[0]
        overrides = [ClassificationOverride(successor, other, "bought by its parent", "controller@example.com")]
        build_mart(conn, AS_OF, overrides)
        grace = conn.execute("select grace_days from mart.mart_renewal_grace where contract_id = %s",
                             [predecessor]).fetchone()[0]
        open_staging_batch(conn)
        conn.execute("update staging.stg_contract set start_date = start_date + 1 where contract_id = %s", [successor])
        conn.execute("update staging.stg_subscription_line set start_date = start_date + 1 where contract_id = %s "
                     "and start_date is not null", [successor])
        gone, renamed_account, moved_root, new_owner = [row[0] for row in conn.execute(
            "select customer_id from mart.mart_customer where customer_id <> all(%s) and exists (select 1 from "
            "mart.mart_customer_month as months where months.customer_id = mart_customer.customer_id) "
            "order by customer_id desc limit 4", [[customer, other]])]
        conn.execute("update staging.stg_subscription_line set is_deleted = true where contract_id in "
                     "(select contract_id from staging.stg_contract where account_id = %s)", [gone])
        conn.execute("update staging.stg_contract set is_deleted = true where account_id = %s", [gone])
        conn.execute("update staging.stg_account set account_name = account_name || ' Ltd' where account_id = %s",
                     [renamed_account])
        root = conn.execute("select contract_id from mart.mart_contract_customer where customer_id = %s "
                            "and account_id = customer_id and root_customer_count = 1 order by 1 limit 1",
                            [moved_root]).fetchone()[0]
        conn.execute("update staging.stg_contract set account_id = %s where contract_id = %s", [new_owner, root])
        copy_as_new(conn, "stg_account", ["account_id"], "account_id = %s", [renamed_account])
        copy_as_new(conn, "stg_contract", ["contract_id", "account_id"], "account_id = %s and not is_deleted",
                    [renamed_account], cleared=["opportunity_id", "renewal_opportunity_id"])
        copy_as_new(conn, "stg_subscription_line", ["subscription_line_id", "account_id", "contract_id"],
                    "contract_id in (select contract_id from staging.stg_contract where account_id = %s "
                    "and not is_deleted)", [renamed_account], cleared=["revised_subscription_line_id"])
        reworded = [ClassificationOverride(successor, other, "bought by its parent in 2025", "controller@example.com")]
        incremental = build_mart(conn, AS_OF, reworded)
        recomputed, after_incremental = scope(conn), mart_state(conn)
        regraced = conn.execute("select grace_days from mart.mart_renewal_grace where contract_id = %s",
                                [predecessor]).fetchone()[0]
        build_mart(conn, AS_OF, reworded, whole_because="the comparison")
        assert mart_state(conn) == after_incremental
        gone_rows = conn.execute("select count(*) from mart.mart_customer_month where customer_id = %s",
                                 [gone]).fetchone()[0]
    assert incremental.whole_because is None and regraced == grace + 1
    assert {customer, other, gone, renamed_account, moved_root, new_owner, "NEW-" + renamed_account} <= recomputed
    assert gone_rows == 0


def test_a_contract_without_lines_and_an_account_reach_their_customer_alone(built_org):
    """A contract's dates are its customer's inputs though it has no lines, and an account's name is its
    customer's: each change brings that customer's digest, and no other, to be recomputed."""
    with psycopg.connect(built_org) as conn:
        contract, customer = conn.execute(
            "select contract_id, customer_id from mart.mart_contract_customer where customer_id is not null "
            "order by 1 limit 1").fetchone()
        open_staging_batch(conn)
        copy_as_new(conn, "stg_contract", ["contract_id"], "contract_id = %s", [contract],
                    cleared=["opportunity_id", "renewal_opportunity_id"])
        build_mart(conn, AS_OF, [])
        assert scope(conn) == {customer}
        open_staging_batch(conn)
        conn.execute("update staging.stg_contract set end_date = end_date + 365 where contract_id = %s",
                     ["NEW-" + contract])
        dated = build_mart(conn, AS_OF, [])
        dated_scope, dated_inputs = scope(conn), input_scope(conn)
        renamed = conn.execute("select customer_id from mart.mart_customer where customer_id <> %s "
                               "order by 1 desc limit 1", [customer]).fetchone()[0]
        open_staging_batch(conn)
        conn.execute("update staging.stg_account set account_name = account_name || ' GmbH' where account_id = %s",
                     [renamed])
        named = build_mart(conn, AS_OF, [])
        named_scope, after_incremental = scope(conn), mart_state(conn)
        build_mart(conn, AS_OF, [], whole_because="the comparison")
        assert mart_state(conn) == after_incremental
        published_end, staged_end = conn.execute(
            "select published.end_date, staged.end_date from mart.mart_customer_contract as published "
            "join staging.stg_contract as staged using (contract_id) where contract_id = %s",
            [f"NEW-{contract}"]).fetchone()
    assert (dated.lines_recomputed, dated_scope, dated_inputs) == (0, {customer}, {customer})
    assert (named.lines_recomputed, named_scope) == (0, {renamed})
    assert published_end == staged_end


def test_a_link_and_an_override_reach_their_customers_though_no_contract_was_staged(built_org):
    """An overridden contract keeps its customer when a renewal link to another customer's contract comes, yet
    the contracts it renews are its customer's inputs; an override reworded changes no contract's customer, yet
    its reason and approver are inputs too."""
    with psycopg.connect(built_org) as conn:
        successor, customer, predecessor = conn.execute(
            "select successor.contract_id, successor.customer_id, predecessor.contract_id "
            "from mart.mart_contract_customer as successor join staging.stg_contract as staged using (contract_id) "
            "join mart.mart_contract_customer as predecessor on predecessor.customer_id <> successor.customer_id "
            "where staged.opportunity_id is not null and not exists (select 1 from mart.mart_renewal_link as links "
            "where successor.contract_id in (links.predecessor_contract_id, links.successor_contract_id)) "
            "order by successor.contract_id, predecessor.contract_id limit 1").fetchone()
        overrides = [ClassificationOverride(successor, customer, "booked direct", "controller@example.com")]
        build_mart(conn, AS_OF, overrides)
        open_staging_batch(conn)
        linked = conn.execute("update staging.stg_opportunity set renewed_contract_id = %s where opportunity_id = "
                              "(select opportunity_id from staging.stg_contract where contract_id = %s)",
                              [predecessor, successor])
        build_mart(conn, AS_OF, overrides)
        linked_inputs, links = input_scope(conn), conn.execute(
            "select count(*) from mart.mart_renewal_link where successor_contract_id = %s", [successor]).fetchone()[0]
        open_staging_batch(conn)
        reworded = [ClassificationOverride(successor, customer, "booked direct, signed by the parent",
                                           "cfo@example.com")]
        build_mart(conn, AS_OF, reworded)
        reworded_inputs, after_incremental = input_scope(conn), mart_state(conn)
        build_mart(conn, AS_OF, reworded, whole_because="the comparison")
        assert mart_state(conn) == after_incremental
    assert (linked.rowcount, links) == (1, 1)
    assert customer in linked_inputs
    assert reworded_inputs == {customer}


WEEK = [date(2026, 11, 16) + timedelta(days=day) for day in range(7)]  # Monday to Sunday


def new_customer(conn: psycopg.Connection, prefix: str, line_id: str, start: date, end: date) -> str:
    """A new customer: a copy of the line's account, its contract and the line alone, ids prefixed, serving from
    `start` through `end`; returns its id."""
    account, contract = conn.execute("select account_id, contract_id from staging.stg_subscription_line "
                                     "where subscription_line_id = %s", [line_id]).fetchone()
    copy_as_new(conn, "stg_account", ["account_id"], "account_id = %s", [account], prefix=prefix)
    copy_as_new(conn, "stg_contract", ["contract_id", "account_id"], "contract_id = %s", [contract],
                cleared=("opportunity_id", "renewal_opportunity_id"), prefix=prefix)
    copy_as_new(conn, "stg_subscription_line", ["subscription_line_id", "account_id", "contract_id"],
                "subscription_line_id = %s", [line_id], cleared=("revised_subscription_line_id", "terminated_date"),
                prefix=prefix)
    conn.execute("update staging.stg_contract set start_date = %s, end_date = %s where contract_id = %s",
                 [start, end, prefix + contract])
    conn.execute("update staging.stg_subscription_line set start_date = %s, end_date = %s "
                 "where subscription_line_id = %s", [start, end, prefix + line_id])
    return prefix + account


def stage_a_week_of_changes_in_service(conn: psycopg.Connection) -> dict[str, str]:
    """Records whose service starts or ends within the week, staged before it begins; returns who is who.

    - tiny: a new customer whose one line, at 0.01 a month, serves 14 days from Nov 5 through Wednesday Nov 18: a
      new customer while the line serves, then nothing at all (0.01 x 14 / 30 rounds to 0.00), so it loses its
      only published month, and its line and contract leave the detail, on Thursday;
    - late: a new customer from Friday Nov 20, published from Friday;
    - expanding: a customer with a second line from Wednesday;
    - churning: a customer whose line ends on Tuesday.
    """
    open_staging_batch(conn)
    tiny_line, late_line = [row[0] for row in conn.execute(
        "select subscription_line_id from mart.mart_customer_line where conversion_rate = 1 and line_mrr > 0 "
        "order by subscription_line_id limit 2")]
    who = {"tiny": new_customer(conn, "TINY-", tiny_line, date(2026, 11, 5), date(2026, 11, 18)),
           "late": new_customer(conn, "LATE-", late_line, date(2026, 11, 20), date(2027, 11, 19))}
    conn.execute("update staging.stg_subscription_line as lines set quantity = 1, prorate_multiplier = 1, "
                 "net_price = 0.01 * coalesce(products.subscription_term_months, 12) "
                 "from staging.stg_product as products "
                 "where products.product_id = lines.product_id and lines.subscription_line_id = %s",
                 ["TINY-" + tiny_line])
    expanding_line, who["expanding"] = conn.execute(
        "select subscription_line_id, customer_id from mart.mart_customer_line where line_mrr > 0 "
        "and service_start_date < '2026-11-01' and service_end_date > '2026-12-31' "
        "order by subscription_line_id limit 1").fetchone()
    copy_as_new(conn, "stg_subscription_line", ["subscription_line_id"], "subscription_line_id = %s",
                [expanding_line], cleared=("revised_subscription_line_id", "terminated_date"), prefix="EXPANSION-")
    conn.execute("update staging.stg_subscription_line set start_date = '2026-11-18' where subscription_line_id = %s",
                 ["EXPANSION-" + expanding_line])
    churning_line, who["churning"] = conn.execute(
        "select subscription_line_id, customer_id from mart.mart_customer_line as lines where line_mrr > 0 "
        "and service_start_date < '2026-11-01' and service_end_date > '2026-12-31' and customer_id <> %s "
        "and not exists (select 1 from mart.mart_customer_line as other where other.customer_id = lines.customer_id "
        "and other.subscription_line_id <> lines.subscription_line_id and other.service_end_date >= '2026-11-16') "
        "order by subscription_line_id limit 1", [who["expanding"]]).fetchone()
    conn.execute("update staging.stg_subscription_line set end_date = '2026-11-17', terminated_date = null "
                 "where subscription_line_id = %s", [churning_line])
    return who


def in_the_detail(conn: psycopg.Connection, customers: dict[str, str]) -> set[str]:
    """Which of `customers` have lines in the published detail."""
    present = {row[0] for row in conn.execute("select distinct customer_id from mart.mart_customer_line "
                                              "where customer_id = any(%s)", [list(customers.values())])}
    return {name for name, customer in customers.items() if customer in present}


def november_ending_mrr(conn: psycopg.Connection, customers: dict[str, str]) -> dict[str, Decimal]:
    """The November ending MRR of each of `customers` that has a November row in the detail."""
    mrr = dict(conn.execute("select customer_id, ending_mrr from mart.mart_customer_month "
                            "where month = '2026-11-01' and customer_id = any(%s)", [list(customers.values())]))
    return {name: mrr[customer] for name, customer in customers.items() if customer in mrr}


def delete_a_customer(conn: psycopg.Connection) -> str:
    """Every contract and line of a customer with months before November deleted at the source."""
    gone = conn.execute("select customer_id from mart.mart_customer_month where month < '2026-11-01' "
                        "order by customer_id desc limit 1").fetchone()[0]
    conn.execute("update staging.stg_subscription_line set is_deleted = true where contract_id in "
                 "(select contract_id from staging.stg_contract where account_id = %s)", [gone])
    conn.execute("update staging.stg_contract set is_deleted = true where account_id = %s", [gone])
    return gone


def test_each_day_of_a_week_rebuilds_the_as_of_month_and_equals_a_whole_build(postgres_server, built_org):
    """Monday, a new week, builds whole; every later day of the week rebuilds only every customer's November (and
    the customers a change reaches, on Saturday), and leaves the mart exactly as a whole build that day."""
    with psycopg.connect(built_org) as conn:
        who = stage_a_week_of_changes_in_service(conn)
    daily_url = copy_database(postgres_server, built_org)
    sunday_before = date(2026, 11, 15)
    builds, detail, ending_mrr = {}, {}, {}
    with psycopg.connect(daily_url) as daily, psycopg.connect(built_org) as whole:
        for day in [sunday_before, *WEEK]:
            if day == date(2026, 11, 21):
                for conn in (daily, whole):
                    change_records_that_reach_other_customers(conn)
                    gone = delete_a_customer(conn)
            builds[day] = build_mart(daily, day, [])
            daily.commit()
            build_mart(whole, day, [], whole_because="the comparison")
            whole.commit()
            assert mart_state(daily) == mart_state(whole), day
            detail[day], ending_mrr[day] = in_the_detail(daily, who), november_ending_mrr(daily, who)
        tiny_mrr = daily.execute("select line_mrr from mart.mart_service_interval where customer_id = %s",
                                 [who["tiny"]]).fetchall()
        gone_months = daily.execute("select count(*) from mart.mart_customer_month where customer_id = %s",
                                    [gone]).fetchone()[0]

    assert tiny_mrr == [(Decimal("0.01"),)] and gone_months == 0
    assert builds[sunday_before].whole_because == "the as-of date moved from 2026-11-21 to 2026-11-15, back"
    assert builds[WEEK[0]].whole_because == ("the as-of date moved from 2026-11-15 to 2026-11-16, into another week "
                                             "(the weekly full recompute)")
    for day in WEEK[1:]:
        assert (builds[day].whole_because, builds[day].rebuilt_month) == (None, date(2026, 11, 1)), day
        assert (builds[day].customers_recomputed > 0) == (day == date(2026, 11, 21)), day
    # The tiny customer leaves the detail on Thursday and the late one joins it on Friday.
    assert detail[date(2026, 11, 18)] == {"tiny", "expanding", "churning"}
    assert detail[date(2026, 11, 19)] == {"expanding", "churning"}
    assert detail[date(2026, 11, 20)] == {"late", "expanding", "churning"}
    # Wednesday's snapshot holds the expansion from Wednesday and no longer the line that ended on Tuesday.
    tuesday, wednesday = ending_mrr[date(2026, 11, 17)], ending_mrr[date(2026, 11, 18)]
    assert wednesday["expanding"] > tuesday["expanding"]
    assert tuesday["churning"] > 0 and wednesday["churning"] == 0
