"""What the warehouse holds for shops, read the same way by every shop test: published days, records."""
from __future__ import annotations

import hashlib
from datetime import date

import psycopg

FIGURES = ("currency", "gross_revenue", "refunds", "net_revenue", "order_count", "refund_count")


def published(url: str, shop_id: str) -> dict[date, dict]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"select day, {', '.join(FIGURES)}, certification_id from viz.shop_daily_revenue "
                            "where shop_id = %s order by day", [shop_id]).fetchall()
    return {row[0]: dict(zip((*FIGURES, "certification_id"), row[1:])) for row in rows}


def shop_fingerprint(url: str, shop_id: str) -> str:
    return hashlib.sha256(repr(sorted(published(url, shop_id).items())).encode()).hexdigest()


def shop_records(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        return {row[0]: row[1:] for row in conn.execute(
            "select scope, status, published_at is not null, failure_summary from certification.certification_run "
            "where dag_id = 'shop_daily_revenue' and scope <> '' and certification_id = (select max(c.certification_id)"
            " from certification.certification_run c where c.scope = certification_run.scope)")}


def integrity_discrepancies(url: str, shop_id: str) -> str:
    """The offending records the latest integrity check of a shop named, as text."""
    with psycopg.connect(url) as conn:
        return str(conn.execute(
            "select discrepancies from certification.check_result join certification.certification_run "
            "using (certification_id) where scope = %s and check_name = 'integrity' "
            "order by certification_id desc limit 1", [shop_id]).fetchone()[0])
