"""Publishing writes only the rows that differ: the customer detail carries its certification through its month
(the bridge total) or its publication, so a customer-month, line or contract that did not change is left as it
is, and viz still holds exactly the certified mart."""
from __future__ import annotations

import logging
from datetime import date

import psycopg
import pytest

from revcert.certification.fingerprint import customer_detail_digests, detail_digests, figures_hash, published_hash
from revcert.publishing.mrr_bridge import PublishResult, UncertifiedFigures, publish_certified_figures
from revcert.warehouse.schema import PUBLISHED_FROM_MART, column_names, key_names

pytestmark = pytest.mark.integration

DETAIL = ("customer_month", "customer_line", "customer_contract")


def row_texts(conn: psycopg.Connection, table) -> set[str]:
    """Each row as PostgreSQL's text of its figures: 1.1 and 1.10 differ, as they would on the page."""
    columns = ", ".join(c for c in column_names(table) if c not in ("certification_id", "certified_at"))
    return {text for (text,) in conn.execute(f"select row({columns})::text from {table.schema}.{table.name}")}


def row_versions(conn: psycopg.Connection, name: str) -> dict[tuple, str]:
    """Each published detail row's key and the transaction that wrote it (unchanged while the row is)."""
    table = next(viz for viz in PUBLISHED_FROM_MART if viz.name == f"{name}_figures")
    keys = ", ".join(key_names(table))
    return {tuple(row[:-1]): row[-1] for row in conn.execute(f"select {keys}, xmin::text from viz.{table.name}")}


def recorded_digests(conn: psycopg.Connection) -> dict[str, bytes]:
    return dict(conn.execute("select customer_id, detail_digest from viz.customer_detail_digest").fetchall())


def mart_digests(conn: psycopg.Connection) -> dict[str, bytes]:
    """Each customer's digest of its mart detail now."""
    digests = customer_detail_digests(detail_digests(conn))
    conn.rollback()
    return digests


def certify_again(conn: psycopg.Connection) -> int:
    """A passing certification of the mart as it now is (publishing checks the mart against its hash)."""
    return conn.execute(
        "insert into certification.certification_run (dag_id, run_id, scope, as_of_date, status, is_certify_only, "
        "is_restatement, overrides_used, certified_at, figures_hash) select dag_id, run_id || ' again', scope, "
        "as_of_date, 'certified', false, false, '[]', now(), %s from certification.certification_run "
        "where status = 'certified' order by certification_id desc limit 1 returning certification_id",
        [figures_hash(conn)]).fetchone()[0]


def certify_and_publish_again(conn: psycopg.Connection, caplog: pytest.LogCaptureFixture
                              ) -> tuple[int, PublishResult]:
    """Certify the mart as it now is and publish it, publishing's warnings captured."""
    certification_id = certify_again(conn)
    certified_hash = figures_hash(conn)
    conn.commit()
    with caplog.at_level(logging.WARNING, logger="revcert.publishing.mrr_bridge"):
        result = publish_certified_figures(conn, certification_id, certified_hash, latest_publishable=date.max)
    conn.commit()
    return certification_id, result


def test_a_publication_rewrites_the_changed_detail_rows_only_and_stamps_every_row(warehouse_after_certified_run,
                                                                                   caplog):
    with psycopg.connect(warehouse_after_certified_run) as conn:
        before = {name: row_versions(conn, name) for name in DETAIL}
        month, customer = conn.execute("select month, customer_id from mart.mart_customer_month "
                                       "where ending_mrr > 0 order by month desc, customer_id limit 1").fetchone()
        conn.execute("update mart.mart_customer_month set recognized_revenue = recognized_revenue + 0.01 "
                     "where month = %s and customer_id = %s", [month, customer])
        line = conn.execute("select subscription_line_id from mart.mart_customer_line order by 1 limit 1").fetchone()[0]
        # The same rate written to another scale: an equal number, but not the same published text.
        rescaled = conn.execute(
            "update mart.mart_customer_line as lines set conversion_rate = round(lines.conversion_rate, "
            "scale(lines.conversion_rate) + 2) from mart.mart_customer_line as was where lines.subscription_line_id "
            "= %s and was.subscription_line_id = lines.subscription_line_id returning was.conversion_rate::text, "
            "lines.conversion_rate::text, was.conversion_rate = lines.conversion_rate", [line]).fetchone()
        assert rescaled[0] != rescaled[1] and rescaled[2]
        gone = conn.execute("select contract_id from mart.mart_customer_contract order by 1 desc limit 1").fetchone()[0]
        conn.execute("delete from mart.mart_customer_contract where contract_id = %s", [gone])
        certification_id, result = certify_and_publish_again(conn, caplog)

        # The edits were made by hand, so no proof vouches for them: no customer was named, those left alone were
        # found not to be what was recorded as published, and every row was compared after all.
        assert "comparing every customer's rows" in caplog.text and result.customers_compared is None
        assert recorded_digests(conn) == mart_digests(conn)
        after = {name: row_versions(conn, name) for name in DETAIL}
        rewritten = {name: {key for key in after[name] if before[name].get(key) != after[name][key]}
                     for name in DETAIL}
        assert rewritten == {"customer_month": {(month, customer)}, "customer_line": {(line,)},
                             "customer_contract": set()}
        assert set(before["customer_contract"]) - set(after["customer_contract"]) == {(gone,)}
        stamped = sum(conn.execute(f"select count(*) from {viz.schema}.{viz.name}").fetchone()[0]
                      for viz in PUBLISHED_FROM_MART if "certification_id" in column_names(viz))
        # The bridge, totals and cohorts are stamped row by row: all written again, beside the three changes.
        assert result.months_replaced and (result.rows_written, result.rows_removed) == (stamped + 2, stamped + 3)
        for viz, mart in PUBLISHED_FROM_MART.items():
            if viz.name.endswith("_figures"):
                assert row_texts(conn, viz) == row_texts(conn, mart), viz.name
        for name in DETAIL:
            stamps = conn.execute(f"select distinct certification_id from viz.{name}").fetchall()
            assert stamps == [(certification_id,)], name
        assert conn.execute("select count(*) from viz.customer_month").fetchone() == (
            len(after["customer_month"]),)



def test_a_mart_changed_after_its_certification_is_not_published(warehouse_after_certified_run):
    """The mart is fingerprinted beside the writes: one cent changed since certification and the publication
    fails naming both fingerprints, and with its transaction rolled back viz is exactly as it was."""
    with psycopg.connect(warehouse_after_certified_run) as conn:
        shown = published_hash(conn)
        certification_id = certify_again(conn)
        certified_hash = figures_hash(conn)
        conn.execute("update mart.mart_customer_month set ending_mrr = ending_mrr + 0.01 where (month, customer_id) "
                     "= (select month, customer_id from mart.mart_customer_month order by 1 desc, 2 limit 1)")
        conn.commit()
        with pytest.raises(UncertifiedFigures, match=rf"the certified figures to {certified_hash[:12]}: nothing "):
            publish_certified_figures(conn, certification_id, certified_hash, latest_publishable=date.max)
        conn.rollback()
        assert published_hash(conn) == shown


def test_the_published_detail_is_recorded_while_viz_shows_the_marts_months_and_forgotten_when_not(
        warehouse_after_certified_run):
    """After the run's publication every customer's published detail is recorded by its mart digest. A
    publication that leaves a month of another certification shown (a later snapshot kept) forgets them all, and
    the next that shows exactly the mart's months again compares every row and records them again."""
    with psycopg.connect(warehouse_after_certified_run) as conn:
        recorded = recorded_digests(conn)
        assert recorded and recorded == mart_digests(conn)
        kept = conn.execute("select min(month) from viz.mrr_bridge_total").fetchone()[0]
        conn.execute("update viz.mrr_bridge_total set snapshot_date = snapshot_date + 1 where month = %s", [kept])
        certification_id = certify_again(conn)
        conn.commit()
        result = publish_certified_figures(conn, certification_id, figures_hash(conn), latest_publishable=date.max)
        conn.commit()
        assert kept not in result.months_replaced and result.customers_compared is None
        assert recorded_digests(conn) == {}

        conn.execute("update viz.mrr_bridge_total set snapshot_date = snapshot_date - 1 where month = %s", [kept])
        certification_id = certify_again(conn)
        conn.commit()
        result = publish_certified_figures(conn, certification_id, figures_hash(conn), latest_publishable=date.max)
        conn.commit()
        assert kept in result.months_replaced and result.customers_compared is None
        assert recorded_digests(conn) == recorded


def test_a_line_moved_from_a_customer_left_alone_makes_publishing_compare_every_row(warehouse_after_certified_run,
                                                                                   caplog):
    """Only the customer a line moved to has a new proof (its old customer's is stale, as after a hand edit):
    publishing names that customer alone, the line's key is still shown for the other, and the customers left
    alone are then found not to be what was recorded, so every row is compared and viz holds exactly the mart."""
    with psycopg.connect(warehouse_after_certified_run) as conn:
        line, moved_to = conn.execute(
            "select lines.subscription_line_id, other.customer_id from mart.mart_customer_line as lines "
            "join mart.mart_customer_line as other on other.customer_id <> lines.customer_id "
            "order by 1, 2 limit 1").fetchone()
        conn.execute("update mart.mart_customer_line set customer_id = %s where subscription_line_id = %s",
                     [moved_to, line])
        conn.commit()
        conn.execute("update certification.customer_detail_proof set detail_digest = %s where customer_id = %s",
                     [mart_digests(conn)[moved_to], moved_to])
        _, result = certify_and_publish_again(conn, caplog)

        assert "comparing every customer's rows" in caplog.text and result.customers_compared is None
        for viz, mart in PUBLISHED_FROM_MART.items():
            if viz.name == "customer_line_figures":
                assert row_texts(conn, viz) == row_texts(conn, mart)
        assert recorded_digests(conn) == mart_digests(conn)


def keys_and_indexes(conn: psycopg.Connection) -> set[tuple[str, str, str]]:
    """Every index of the mart and viz (primary keys among them), as defined."""
    return set(conn.execute("select tablename, indexname, indexdef from pg_indexes "
                            "where schemaname in ('mart', 'viz')").fetchall())


def test_a_first_publication_builds_the_keys_and_indexes_after_the_rows_as_the_migrations_declared_them(
        postgres_server, warehouse_after_certified_run, caplog):
    """Into a viz that shows nothing, publishing copies every row and only then builds each table's key and indexes
    (as the mart's whole build does): afterwards both are those of a freshly migrated warehouse, viz equals the
    certified mart, and its tables carry statistics. A publication that fails puts back the keys and indexes of the
    empty tables with the rest of its transaction."""
    from tests.conftest import new_database

    with psycopg.connect(new_database(postgres_server)) as fresh:
        declared = keys_and_indexes(fresh)
    with psycopg.connect(warehouse_after_certified_run) as conn:
        for viz_table in (*PUBLISHED_FROM_MART, "viz.customer_detail_digest", "viz.customer_detail_certification"):
            conn.execute(f"delete from {viz_table}")
        conn.commit()
        certify_and_publish_again(conn, caplog)
        assert keys_and_indexes(conn) == declared
        for viz_table, mart_table in PUBLISHED_FROM_MART.items():
            assert row_texts(conn, viz_table) == row_texts(conn, mart_table), viz_table.name
        for name in DETAIL:
            rows, counted = conn.execute(f"select count(*), (select reltuples from pg_class where oid = "
                                         f"'viz.{name}_figures'::regclass) from viz.{name}_figures").fetchone()
            assert rows > 0 and counted == rows, name
        for viz_table in PUBLISHED_FROM_MART:
            conn.execute(f"delete from {viz_table.schema}.{viz_table.name}")
        conn.commit()
        certification_id = certify_again(conn)
        certified_hash = figures_hash(conn)
        conn.execute("update mart.mart_customer_line set line_mrr = line_mrr + 0.01 where subscription_line_id = "
                     "(select min(subscription_line_id) from mart.mart_customer_line)")
        conn.commit()
        with pytest.raises(UncertifiedFigures):
            publish_certified_figures(conn, certification_id, certified_hash, latest_publishable=date.max)
        conn.rollback()
        assert keys_and_indexes(conn) == declared
        assert conn.execute("select count(*) from viz.customer_month_figures").fetchone()[0] == 0
