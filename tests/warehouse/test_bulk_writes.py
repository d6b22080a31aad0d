"""Tables written in bulk: statistics refreshed when a step wrote a tenth of the table or more."""
from __future__ import annotations

import pytest

from revcert.warehouse.bulk_writes import analyze_if_changed
from revcert.warehouse.connection import connect

pytestmark = pytest.mark.integration


def test_a_table_is_analysed_once_a_tenth_of_it_is_new_or_when_it_never_was(warehouse_url):
    def counted() -> float:
        return conn.execute("select reltuples from pg_class where oid = 'scratch.figures'::regclass").fetchone()[0]

    with connect(warehouse_url) as conn:
        conn.execute("create schema scratch")
        conn.execute("create table scratch.figures (n integer)")
        assert counted() == -1  # never analysed
        conn.execute("insert into scratch.figures select generate_series(1, 1000)")
        assert analyze_if_changed(conn, "scratch", "figures", 1000)
        assert counted() == 1000
        conn.execute("insert into scratch.figures select generate_series(1, 100)")
        assert not analyze_if_changed(conn, "scratch", "figures", 100)  # exactly a tenth: left as it is
        assert counted() == 1000
        conn.execute("insert into scratch.figures select generate_series(1, 101)")
        assert analyze_if_changed(conn, "scratch", "figures", 101)
        assert counted() == 1201
