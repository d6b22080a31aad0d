"""The shop_revenue_reconciliation DAG under dag.test: planted drift is found with its order ids, every
comparison is stored, a shop whose API is down fails alone, and the repair closes what it found."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest

from revcert.standins.shopify.server import Fault, ShopifyStore
from tests.airflow_harness import SHOP_AS_OF, load_dag, run_reconciliation_dag, run_shop_dag

pytestmark = pytest.mark.integration
WINDOW = [SHOP_AS_OF - timedelta(days=back) for back in range(6, -1, -1)]


@pytest.fixture
def store(small_shops) -> ShopifyStore:
    return ShopifyStore.from_snapshot(small_shops)


def local_day(store: ShopifyStore, order: dict) -> date:
    placed = datetime.fromisoformat(order["createdAt"].replace("Z", "+00:00"))
    return placed.astimezone(ZoneInfo(store.shops[order["shopId"]]["ianaTimezone"])).date()


def orders_in_window(store: ShopifyStore, gid: str) -> dict[date, list[dict]]:
    """The shop's countable orders by local day, within the reconciled window."""
    days: dict[date, list[dict]] = {}
    for order in store.orders(gid):
        day = local_day(store, order)
        if day in WINDOW and not order.get("test") and not order.get("cancelledAt") and not order.get("refunds"):
            days.setdefault(day, []).append(order)
    return days


def number(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def results(url: str, reconciliation_run_id: int) -> dict[tuple[str, date], tuple]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select shop_id, day, source_net_revenue, stored_net_revenue, difference, status, differing_order_ids, "
            "repair_run_id, closed_by_reconciliation_run_id from monitoring.reconciliation_result "
            "where reconciliation_run_id = %s", [reconciliation_run_id]).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def reconciliation_runs(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select reconciliation_run_id, status, seed, shops_sampled, shop_days_compared, "
                            "discrepancies, shops_failed, discrepancy_rate from monitoring.reconciliation_run "
                            "order by reconciliation_run_id").fetchall()


def triggered_repairs(run_ids: list[str]) -> dict[str, dict]:
    """The shop_daily_revenue runs the reconciliation asked Airflow for: run id -> conf."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == "shop_daily_revenue", DagRun.run_id.in_(run_ids)).all()
        return {run.run_id: dict(run.conf) for run in runs}


def test_planted_drift_is_found_named_stored_alerted_and_repaired(monkeypatch, shops_after_certified_run, store,
                                                                  slack, tmp_path):
    url = shops_after_certified_run
    refunded_shop, edited_shop, tampered_shop, zeroed_shop, down_shop = list(store.shops)
    # 1. A refund added at the source after publishing (half of an order's total).
    day_refunded, (refunded, *_) = sorted(orders_in_window(store, refunded_shop).items())[-1]
    half = (Decimal(refunded["totalPriceSet"]["presentmentMoney"]["amount"]) / 2).quantize(Decimal("0.01"))
    store.add_refund(refunded["id"], {"createdAt": refunded["createdAt"], "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {
            "amount": str(half), "currencyCode": refunded["totalPriceSet"]["presentmentMoney"]["currencyCode"]}}}]})
    # 2. An order edited after publishing (its total raised by a quarter).
    day_edited, (edited, *_) = sorted(orders_in_window(store, edited_shop).items())[0]
    raised = {kind: {**amount, "amount": str((Decimal(amount["amount"]) * 5 / 4).quantize(Decimal("0.01")))}
              for kind, amount in edited["totalPriceSet"].items()}
    store.edit_order(edited["id"], {"totalPriceSet": raised})
    # 3. A stored figure tampered by one cent: within B5's 0.1% of a day's revenue, compared and stored, not flagged.
    with psycopg.connect(url) as conn:
        day_tampered, tampered_net = conn.execute(
            "select day, net_revenue from viz.shop_daily_revenue where shop_id = %s and day = any(%s) and "
            "net_revenue >= 10 order by day limit 1", [number(tampered_shop), WINDOW]).fetchone()
        conn.execute("update viz.shop_daily_revenue set gross_revenue = gross_revenue + 0.01, net_revenue = "
                     "net_revenue + 0.01 where shop_id = %s and day = %s", [number(tampered_shop), day_tampered])
    # 4. A day whose source figure is now zero but whose stored figure is not: every order of it turned test.
    day_zeroed, zeroed = min(orders_in_window(store, zeroed_shop).items(), key=lambda item: len(item[1]))
    every_order_that_day = [o for o in store.orders(zeroed_shop) if local_day(store, o) == day_zeroed]
    for order in every_order_that_day:
        store.edit_order(order["id"], {"test": True})
    # 5. A shop whose API is down while the reconciliation runs.
    monkeypatch.setenv("REVCERT_RETRY_ATTEMPTS", "2")
    dag = load_dag("shop_revenue_reconciliation")
    monkeypatch.setattr(dag.get_task("reconcile_shop"), "retries", 0)
    state, tasks = run_reconciliation_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path / "first",
                                          faults=[Fault("status", status=503, times=None, shop_id=down_shop)])

    assert state == "failed", tasks
    assert sorted(s for t, s in tasks.items() if t.startswith("reconcile_shop")) == \
        ["failed", "success", "success", "success", "success"]
    assert tasks["summarize"] == "success" and tasks["finish"] == "failed"
    [(run_id, status, _, sampled, compared, found, failed, rate)] = reconciliation_runs(url)
    assert status == "failed" and sorted(sampled) == sorted(map(number, store.shops)) and failed == 1
    stored = results(url, run_id)
    assert compared == len(stored) == 4 * 7 and {shop for shop, _ in stored} == \
        set(map(number, store.shops)) - {number(down_shop)}
    flagged = {key: row[4] for key, row in stored.items() if row[3] == "discrepancy"}
    assert flagged == {
        (number(refunded_shop), day_refunded): [number(refunded["id"])],
        (number(edited_shop), day_edited): [number(edited["id"])],
        (number(zeroed_shop), day_zeroed): sorted((number(o["id"]) for o in every_order_that_day),
                                                  key=lambda i: (len(i), i)),
    }
    assert found == 3 and rate == (Decimal(3) / Decimal(28)).quantize(Decimal("0.000001"))
    refund_row = stored[(number(refunded_shop), day_refunded)]
    assert refund_row[2] == -half and refund_row[0] == refund_row[1] - half
    zero_row = stored[(number(zeroed_shop), day_zeroed)]
    assert zero_row[0] == 0 and zero_row[1] > 0
    tampered_row = stored[(number(tampered_shop), day_tampered)]
    assert tampered_row[:4] == (tampered_net, tampered_net + Decimal("0.01"), Decimal("-0.01"), "match")
    assert {key: row[4] for key, row in stored.items() if key not in flagged and row[4]} == {}

    [alert] = slack.texts
    assert alert.startswith(":warning: *Shop revenue reconciliation*: 3 of 28 shop-day(s) differ from the source; "
                            "1 shop(s) could not be compared")
    currency = store.shops[refunded_shop]["currencyCode"]
    row = next(line.split() for line in alert.splitlines() if line.startswith(f"{number(refunded_shop)} "))
    assert row == [number(refunded_shop), day_refunded.isoformat(), str(refund_row[0]), currency, str(refund_row[1]),
                   currency, f"{-half:+}", "discrepancy", number(refunded["id"])]
    assert f"shop {number(down_shop)} not compared:" in alert and "HTTP 503" in alert
    assert "/dags/shop_revenue_reconciliation/runs/" in alert

    repairs = {row[0]: row[5] for row in stored.values() if row[3] == "discrepancy"}
    confs = triggered_repairs(list(repairs.values()))
    assert {conf["shops"][0]: (conf["from"], conf["to"]) for conf in confs.values()} == {
        shop: (day.isoformat(), day.isoformat()) for shop, day in flagged}
    assert tasks["repair[0]"] == tasks["repair[1]"] == tasks["repair[2]"] == "success"

    # The repairs, as the scheduler would run them: exactly those shops and days, through the certified path.
    revenue = load_dag("shop_daily_revenue")
    for conf in confs.values():
        state, repair_tasks = run_shop_dag(revenue, monkeypatch, url, store, slack, run_conf=conf,
                                           tmp_path=tmp_path / "repair")
        with psycopg.connect(url) as conn:
            why = conn.execute("select failure_summary from certification.certification_run where scope = %s "
                               "order by certification_id desc limit 1", conf["shops"]).fetchone()
        assert state == "success", (conf, repair_tasks, why)
    alerts_before = len(slack.texts)
    state, tasks = run_reconciliation_dag(load_dag("shop_revenue_reconciliation"), monkeypatch, url, store, slack,
                                          tmp_path=tmp_path / "second")
    assert state == "success", tasks
    second_id, status, *_ = reconciliation_runs(url)[-1]
    assert status == "clean" and slack.texts[alerts_before:] == []
    again = results(url, second_id)
    assert len(again) == 5 * 7 and {row[3] for row in again.values()} == {"match"}
    closed = {key: row[6] for key, row in results(url, run_id).items() if row[3] == "discrepancy"}
    assert closed == dict.fromkeys(flagged, second_id)
    # The tampered cent was not a discrepancy, so no repair rewrote it: still a cent apart, still a match.
    assert again[(number(tampered_shop), day_tampered)][2] == Decimal("-0.01")


def test_the_same_seed_draws_the_same_sample_and_it_is_recorded(monkeypatch, shops_after_certified_run, store,
                                                                slack, tmp_path):
    url = shops_after_certified_run
    dag = load_dag("shop_revenue_reconciliation")
    for _ in range(2):
        state, tasks = run_reconciliation_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path,
                                              run_conf={"all_shops": False, "fraction": 0.4, "seed": 20261121})
        assert state == "success", tasks
    (_, _, seed_a, sample_a, compared_a, *_), (_, _, seed_b, sample_b, *_) = reconciliation_runs(url)
    assert seed_a == seed_b == 20261121 and sample_a == sample_b and len(sample_a) == 2 and compared_a == 14
    state, _ = run_reconciliation_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path,
                                      run_conf={"all_shops": False, "fraction": 0.4, "seed": None})
    own_seed = reconciliation_runs(url)[-1][2]
    assert state == "success" and own_seed not in (None, 20261121)
