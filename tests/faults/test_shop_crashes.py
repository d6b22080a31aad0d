"""Kill -9 at every task boundary of shop_daily_revenue and inside its publish transaction (see
test_mrr_crashes.py for how a run is killed and what must hold after)."""
from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from revcert.extraction.shopify_client import legacy_id
from revcert.standins.shopify.server import ShopifyStandIn, ShopifyStore
from revcert.standins.slack import WEBHOOK_PATH
from tests.faults.checks import left_open, viz_fingerprint
from tests.faults.crashes import KILLED, WAREHOUSE_PASSWORD, ChildRuns, assert_kept_secret, records, takeovers

pytestmark = pytest.mark.integration

SHOP_TASKS = ("migrate", "open_run", "select_shops", "shop.extract", "shop.stage", "observe_batch", "transform",
              "observe_figures", "certify", "publish")
LATEST_SHOP_RECORDS = ("select certification_id from certification.certification_run where dag_id = "
                       "'shop_daily_revenue' and scope <> '' and run_id = (select run_id from "
                       "certification.certification_run where dag_id = 'shop_daily_revenue' "
                       "order by certification_id desc limit 1)")


@pytest.mark.timeout(1500)  # a dozen runs, each a process of its own; slow machines need room
def test_shop_daily_revenue_survives_a_kill_anywhere(tiny_shops: Path, tiny_shops_warehouse, slack, tmp_path):
    url = tiny_shops_warehouse
    store = ShopifyStore.from_snapshot(tiny_shops)
    for gid in store.shops:
        order = next(o for o in store.orders(gid) if not o["test"] and not o.get("refunds"))
        currency = order["totalPriceSet"]["presentmentMoney"]["currencyCode"]
        store.add_refund(order["id"], {"createdAt": "2026-11-19T12:00:00Z", "transactions": [
            {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {
                "amount": "1.00", "currencyCode": currency}}}]})
    before = viz_fingerprint(url)
    with ShopifyStandIn(store, state_dir=tmp_path, bucket_size=10**7, restore_rate=10**7) as standin:
        runs = ChildRuns("shop_daily_revenue", {"as_of": "2026-11-20", "shops": [], "from": None, "to": None,
                                                "full_extraction": False}, url,
                         {"AIRFLOW_CONN_SHOPIFY_DEFAULT": standin.airflow_connection(),
                          "AIRFLOW_CONN_SLACK_ONCALL": slack.airflow_connection()}, tmp_path)
        runs.kill_as_each_starts(SHOP_TASKS, before)
        assert runs.run_killed_inside("publish", LATEST_SHOP_RECORDS) == KILLED
        assert viz_fingerprint(url) == before, "killed inside publish"
        assert runs.run(kill_at="close_run") == KILLED
        with psycopg.connect(url) as conn:
            shown = dict(conn.execute("select shop_id, max(certification_id) from viz.shop_daily_revenue "
                                      "group by shop_id").fetchall())
        killed_shops = {scope: (number, status, published) for number, scope, status, published
                        in records(url, "shop_daily_revenue")[-3:] if scope}
        assert viz_fingerprint(url) != before
        assert {legacy_id(gid) for gid in store.shops} == set(killed_shops) == set(shown)
        assert all(killed_shops[shop] == (shown[shop], "certified", True) for shop in shown), (killed_shops, shown)
        assert runs.run() == 0 and runs.outcome()["state"] == "success"
        secrets = [*standin.tokens.values(), WEBHOOK_PATH, WAREHOUSE_PASSWORD]
    assert_kept_secret(secrets, runs.logs(), slack.texts)
    assert left_open(url) == []
    abandoned = [r for r in records(url, "shop_daily_revenue") if r[2] == "abandoned"]
    assert abandoned and all(not published for *_, published in abandoned)
    # Held the lease when killed: select_shops .. publish as each started, inside publish, after publishing.
    gone = takeovers(url, "shop_daily_revenue")
    assert len(gone) == 10 and all(reason.startswith("its Airflow run has ended") for reason in gone), gone
