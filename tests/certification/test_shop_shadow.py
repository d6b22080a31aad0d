"""Check 5 for shops: the days of each shop with refunds on their own dates, beside production, equal to what
the independent derivation gives for that reading, and reported without failing anything."""
from __future__ import annotations

import dataclasses

import psycopg
import pytest

from revcert.certification.shadows import SHOP_SHADOWS, check_shadow_views
from revcert.certification.shop_checks import read_staged_shop
from revcert.certification.shop_day_revenue import ShopDay, shop_days

pytestmark = pytest.mark.integration


def test_each_shops_refunds_on_their_own_dates_are_what_the_derivation_gives_for_that_reading(
        shops_after_certified_run):
    moved = 0
    with psycopg.connect(shops_after_certified_run) as conn:
        shops = [row[0] for row in conn.execute("select shop_id from mart.mart_shop order by shop_id")]
        assert len(shops) == 5
        for shop_id in shops:
            scope = {row[0] for row in conn.execute("select day from mart.mart_shop_day_scope where shop_id = %s",
                                                    [shop_id])}
            production = {row[0]: row[1:] for row in conn.execute(
                "select day, refunds, net_revenue, refund_count from mart.mart_shop_day where shop_id = %s",
                [shop_id]) if row[0] in scope}
            settings, orders = read_staged_shop(conn, shop_id)
            assert not settings.refunds_on_refund_date
            on_refund_dates = shop_days(orders, dataclasses.replace(settings, refunds_on_refund_date=True), scope)
            expected = []
            for day in sorted(scope):
                derived = on_refund_dates.get(day, ShopDay(shop_id, day, settings.currency)).figures()
                for figure, shown in zip(("refunds", "net_revenue", "refund_count"), production[day]):
                    if derived[figure] != shown:
                        expected.append((day, figure, shown, derived[figure]))
            result = check_shadow_views(conn, SHOP_SHADOWS, {"shop_id": shop_id})
            assert result.passed is True
            assert [(d["day"], d["figure"], d["production"], d["shadow_value"]) for d in result.discrepancies] \
                == expected, shop_id
            moved += len(expected)
    # Every shop of the sample refunds on days other than the orders': the shadow has something to say.
    assert moved > 0
