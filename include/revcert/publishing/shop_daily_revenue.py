"""Publish a certified shop's recomputed days into viz, in one transaction per shop.

A shop's days are written over whole (METHODOLOGY.md B4): the days its run
recomputed replace the ones shown, each stamped with the shop's certification;
the others keep theirs. One shop's publication never waits for, or mixes
with, another's. Nothing is published unless the mart still holds exactly the
figures certified, and never a day after today in the shop's own timezone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from revcert.certification.fingerprint import shop_figures_hash
from revcert.publishing.mrr_bridge import UncertifiedFigures
from revcert.sqlfiles import load_sql


@dataclass(frozen=True)
class ShopPublication:
    shop_id: str
    days_written: int


def publish_shop(conn: psycopg.Connection, shop_id: str, certification_id: int, certified_hash: str) -> ShopPublication:
    """Publish one shop's certified days in the caller's transaction.

    Raises:
        UncertifiedFigures: the mart no longer holds the certified figures, or holds a day after today.
    """
    conn.execute("select pg_advisory_xact_lock(hashtext('viz.shop_daily_revenue'), hashtext(%s))", [shop_id])
    current = shop_figures_hash(conn, shop_id)
    if current != certified_hash:
        raise UncertifiedFigures(f"shop {shop_id}: the mart's days hash to {current[:12]}, the certified figures to "
                                 f"{certified_hash[:12]}: nothing published")
    zone, latest = conn.execute("select shop.iana_timezone, max(scope.day) from mart.mart_shop as shop join "
                                "mart.mart_shop_day_scope as scope using (shop_id) where shop.shop_id = %s "
                                "group by shop.iana_timezone", [shop_id]).fetchone() or (None, None)
    if latest is not None and latest > datetime.now(ZoneInfo(zone)).date():
        raise UncertifiedFigures(f"shop {shop_id}: the figures run to {latest}, after today in {zone}")
    params = {"shop_id": shop_id, "certification_id": certification_id}
    conn.execute(load_sql("publishing", "shop_days_replaced"), params)
    written = conn.execute(load_sql("publishing", "publish_shop_days"), params).rowcount
    conn.execute(load_sql("publishing", "publish_shop"), params)
    return ShopPublication(shop_id, written)
