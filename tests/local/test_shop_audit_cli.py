"""`revcert shop audit`, as a person would type it: the comparison table, exit 1 on a discrepancy, and
`--repair` recomputing and certifying the range through shop_daily_revenue, then auditing again."""
from __future__ import annotations

import contextlib
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest

from revcert.cli import main
from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore

pytestmark = pytest.mark.integration


def audit(*argv: str) -> tuple[int, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["shop", "audit", *argv])
    return code, printed.getvalue()


def test_an_audit_names_the_drifted_day_and_its_order_and_the_repair_closes_it(
        shops_after_certified_run, small_shops, tmp_path, monkeypatch):
    url = shops_after_certified_run
    store = ShopifyStore.from_snapshot(small_shops)
    gid = list(store.shops)[2]
    shop_id = gid.rsplit("/", 1)[1]
    zone = ZoneInfo(store.shops[gid]["ianaTimezone"])

    def local_day(order: dict) -> date:
        return datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00")).astimezone(zone).date()

    order = max((o for o in store.orders(gid) if not o["test"] and not o["cancelledAt"] and not o["refunds"]
                 and local_day(o) <= date(2026, 11, 20)), key=local_day)
    day = local_day(order)
    with psycopg.connect(url) as conn:
        stored = conn.execute("select net_revenue from viz.shop_daily_revenue where shop_id = %s and day = %s",
                              [shop_id, day]).fetchone()[0]
    money = order["totalPriceSet"]["presentmentMoney"]
    store.add_refund(order["id"], {"createdAt": order["createdAt"], "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": dict(money)}}]})
    refunded = Decimal(order["totalPriceSet"]["shopMoney"]["amount"])
    monkeypatch.setenv("REVCERT_HOME", str(tmp_path / "home"))
    first, last = (day - timedelta(days=2)).isoformat(), day.isoformat()
    with ShopifyStandIn(store, state_dir=tmp_path) as standin:
        monkeypatch.setenv("AIRFLOW_CONN_OUR_SHOPS", standin.airflow_connection())
        code, out = audit("--shop", shop_id, "--from", first, "--to", last, "--database-url", url,
                          "--shopify-conn", "our_shops")
        assert code == 1, out
        lines = out.splitlines()
        assert lines[0].startswith(f"Shop {shop_id}, {first} to {last}: 1 of 3 day(s) differ from the source")
        row = next(line.split() for line in lines if line.split()[:2] == [shop_id, last])
        currency = store.shops[gid]["currencyCode"]
        assert row == [shop_id, last, str(stored - refunded), currency, str(stored), currency, f"{-refunded:+}",
                       "discrepancy", order["id"].rsplit("/", 1)[1]]
        assert sum(1 for line in lines if line.split()[-1:] == ["match"]) == 2

        code, out = audit("--shop", shop_id, "--from", first, "--to", last, "--database-url", url,
                          "--shopify-conn", "our_shops", "--repair")
        assert code == 0, out
        assert f"shop_daily_revenue: shop {shop_id} certified" in out
        after = out.split("\n\n")[-1].splitlines()
        assert after[0].startswith(f"Shop {shop_id}, {first} to {last}: 0 of 3 day(s) differ from the source")
    with psycopg.connect(url) as conn:
        assert conn.execute("select net_revenue from viz.shop_daily_revenue where shop_id = %s and day = %s",
                            [shop_id, day]).fetchone()[0] == stored - refunded
        audits = conn.execute("select status, discrepancies from monitoring.reconciliation_run where dag_id = "
                              "'revcert shop audit' order by reconciliation_run_id").fetchall()
        closed = conn.execute("select count(*) from monitoring.reconciliation_result where status = 'discrepancy' "
                              "and closed_by_reconciliation_run_id is null").fetchone()[0]
    assert audits == [("discrepancies", 1), ("discrepancies", 1), ("clean", 0)] and closed == 0


def test_an_audit_refuses_a_range_backwards_and_a_shop_not_in_the_connection(shops_after_certified_run,
                                                                               small_shops, tmp_path, monkeypatch,
                                                                               capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["shop", "audit", "--shop", "1001", "--from", "2026-11-20", "--to", "2026-11-10"])
    assert exit_info.value.code == 2 and "--from 2026-11-20 is after --to 2026-11-10" in capsys.readouterr().err
    with ShopifyStandIn(ShopifyStore.from_snapshot(small_shops), state_dir=tmp_path) as standin:
        monkeypatch.setenv("AIRFLOW_CONN_OUR_SHOPS", standin.airflow_connection())
        code, _ = audit("--shop", "999", "--from", "2026-11-10", "--to", "2026-11-12", "--database-url",
                        shops_after_certified_run, "--shopify-conn", "our_shops")
    assert code == 1 and "shop 999 is not in the Shopify connection 'our_shops'" in capsys.readouterr().err
