"""The figures' fingerprint, hashed where the rows are: any change to a published figure changes it, and
only the figures do (not the order rows were written in)."""
from __future__ import annotations

import psycopg
import pytest

from revcert.certification import fingerprint
from revcert.certification.fingerprint import figures_hash, shop_figures_hash
from revcert.methodology.mart import build_mart
from tests.methodology.test_failing_loudly import AS_OF, healthy_org

pytestmark = pytest.mark.integration


def test_a_cent_a_null_or_a_row_changes_the_fingerprint_and_row_order_does_not(warehouse_url, monkeypatch):
    org, account = healthy_org()
    for month in range(2, 6):
        org.line(org.contract(account, f"2026-0{month}-01", "2026-12-31"), "1200.00")
    with psycopg.connect(warehouse_url) as conn:
        org.write(conn)
        build_mart(conn, AS_OF, [])
        monkeypatch.setattr(fingerprint, "ROWS_PER_CHUNK", 2)  # several chunks per table
        built = figures_hash(conn)
        # The same rows written again in reverse: the same fingerprint.
        rows = conn.execute("select * from mart.mart_customer_month order by month desc").fetchall()
        conn.execute("delete from mart.mart_customer_month")
        with conn.cursor().copy("copy mart.mart_customer_month from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        assert figures_hash(conn) == built
        changes = ["update mart.mart_mrr_bridge set ending_mrr = ending_mrr + 0.01 where month = '2026-03-01'",
                   "update mart.mart_customer_month set customer_name = null",
                   "delete from mart.mart_customer_line where subscription_line_id = (select "
                   "min(subscription_line_id) from mart.mart_customer_line)"]
        seen = {built}
        for change in changes:
            conn.execute(change)
            seen.add(figures_hash(conn))
        assert len(seen) == 1 + len(changes)
        conn.rollback()


def test_a_shop_with_no_days_in_scope_still_has_a_fingerprint(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        assert shop_figures_hash(conn, "gid://shopify/Shop/1") == shop_figures_hash(conn, "gid://shopify/Shop/2")
        assert len(shop_figures_hash(conn, "gid://shopify/Shop/1")) == 64
