"""Publishing compares each viz row with its certified mart row as one record value (sql/publishing/changed_rows.sql),
and PostgreSQL compares records column by column only where the types are the same: a viz column declared bigint
beside a mart integer would stop every publication. The two declarations must not drift apart."""
from __future__ import annotations

from sqlalchemy import Table

from revcert.publishing.mrr_bridge import STAMP
from revcert.warehouse.schema import PUBLISHED_FROM_MART, certification_run


def declared_types(table: Table, names: list[str]) -> dict[str, str]:
    return {name: str(table.c[name].type) for name in names}


def test_each_published_table_declares_its_mart_tables_columns_and_the_certifications_stamp_alike():
    for viz, mart in PUBLISHED_FROM_MART.items():
        compared = [column.name for column in viz.columns if column.name not in STAMP]
        assert declared_types(viz, compared) == declared_types(mart, compared), viz.name
        stamp = [name for name in STAMP if name in viz.c]
        assert declared_types(viz, stamp) == declared_types(certification_run, stamp), viz.name
    assert any(name in viz.c for viz in PUBLISHED_FROM_MART for name in STAMP)
