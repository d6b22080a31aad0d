"""The shop_daily_revenue DAG end to end with dag.test: the Shopify stand-in, embedded PostgreSQL, a local
Slack receiver. Every shop goes its own way: one shop's failure never holds back the others."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

from revcert.certification.shop_day_revenue import ShopDay, ShopSettings, order_from_record, shop_days
from revcert.snapshots.shopify_snapshot import read_orders, read_shops
from revcert.standins.shopify.server import Fault, ShopifyStore
from tests.airflow_harness import SHOP_AS_OF, load_dag, run_shop_dag
from tests.shop_records import published, shop_fingerprint, shop_records

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dag(airflow_db):
    return load_dag("shop_daily_revenue")


@pytest.fixture
def store(small_shops: Path) -> ShopifyStore:
    return ShopifyStore.from_snapshot(small_shops)


def expected_days(store: ShopifyStore, shop_gid: str, refunds_on_refund_date: bool = False,
                  as_of: date = SHOP_AS_OF) -> dict[date, dict]:
    """A shop's days as the pure function computes them straight from the source's current orders."""
    shop = store.shops[shop_gid]
    settings = ShopSettings(shop_gid.rsplit("/", 1)[1], shop["ianaTimezone"], shop["currencyCode"],
                            refunds_on_refund_date)
    orders = [order_from_record(record) for record in store.orders(shop_gid)]
    days = shop_days(orders, settings)
    first = min(o.created_at.astimezone(settings.zone()).date() for o in orders)
    expected = {}
    day = first
    while day <= as_of:
        expected[day] = days.get(day, ShopDay(settings.shop_id, day, settings.currency)).figures()
        day += timedelta(days=1)
    return expected


def figures_only(days: dict[date, dict]) -> dict[date, dict]:
    return {day: {k: v for k, v in row.items() if k != "certification_id"} for day, row in days.items()}


def test_a_clean_run_publishes_every_shop_as_the_pure_function_computes_it_from_the_source(
        certified_shops_url, small_shops):
    store = ShopifyStore.from_snapshot(small_shops)
    shops = [record["id"] for record in read_shops(small_shops)]
    assert len(shops) == 5
    for gid in shops:
        shop_id = gid.rsplit("/", 1)[1]
        shown = published(certified_shops_url, shop_id)
        assert figures_only(shown) == expected_days(store, gid), shop_id
        assert len({row["certification_id"] for row in shown.values()}) == 1
    records = shop_records(certified_shops_url)
    assert set(records) == {gid.rsplit("/", 1)[1] for gid in shops}
    assert all(status == "certified" and is_published for status, is_published, _ in records.values())
    with psycopg.connect(certified_shops_url) as conn:
        zones = dict(conn.execute("select shop_id, iana_timezone from viz.shop").fetchall())
        statuses = dict(conn.execute("select check_name, bool_and(passed) from certification.check_result join "
                                     "certification.certification_run using (certification_id) where scope <> '' "
                                     "group by check_name").fetchall())
    assert set(zones.values()) == {"America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe",
                                   "Pacific/Chatham"}
    assert statuses == {"completeness": True, "integrity": True, "independent_derivation": True, "shadow_views": True}
    assert sum(1 for _ in read_orders(small_shops)) == 600


def an_order_of(store: ShopifyStore, shop_gid: str, *, with_refunds: bool = False) -> dict:
    return next(o for o in store.orders(shop_gid) if bool(o.get("refunds")) == with_refunds and not o["test"])


def test_an_incremental_run_recomputes_the_touched_days_whole(dag, monkeypatch, shops_after_certified_run, store,
                                                              slack, tmp_path):
    """METHODOLOGY.md B4: a late refund and an edit change their days, recomputed from every order of those days;
    other days keep the figures (and the certification) they had."""
    url = shops_after_certified_run
    gid = next(iter(store.shops))
    shop_id = gid.rsplit("/", 1)[1]
    before = published(url, shop_id)
    refunded = an_order_of(store, gid)
    edited = next(o for o in store.orders(gid) if o["id"] != refunded["id"] and not o["test"] and not o["refunds"])
    currency = refunded["totalPriceSet"]["presentmentMoney"]["currencyCode"]
    store.add_refund(refunded["id"], {"createdAt": "2026-11-19T12:00:00Z", "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {"amount": "1.00",
                                                                                   "currencyCode": currency}}}]})
    store.edit_order(edited["id"], {"test": True})
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
    assert state == "success", tasks
    after = published(url, shop_id)
    assert figures_only(after) == expected_days(store, gid)
    changed = {day for day in after if after[day]["certification_id"] != before[day]["certification_id"]}
    touched = {order_day(store, gid, refunded["id"]), order_day(store, gid, edited["id"])}
    assert touched <= changed and len(changed) < len(after) / 4
    assert {day for day in after if figures_only(after)[day] != figures_only(before)[day]} == touched

    state, _ = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
    assert state == "success" and figures_only(published(url, shop_id)) == figures_only(after)


def order_day(store: ShopifyStore, shop_gid: str, order_gid: str) -> date:
    """The shop-local date an order was placed on (METHODOLOGY.md B2)."""
    placed = datetime.fromisoformat(store.order(order_gid)["createdAt"].replace("Z", "+00:00"))
    return placed.astimezone(ZoneInfo(store.shops[shop_gid]["ianaTimezone"])).date()


def test_a_shop_whose_source_is_down_keeps_its_figures_and_the_others_publish(
        dag, monkeypatch, shops_after_certified_run, store, slack, tmp_path):
    url = shops_after_certified_run
    down, up = list(store.shops)[:2]
    down_id, up_id = down.rsplit("/", 1)[1], up.rsplit("/", 1)[1]
    for gid in (down, up):
        store.add_order({"shopId": gid, "createdAt": "2026-11-20T12:00:00Z", "currencyCode":
                         store.shops[gid]["currencyCode"], "presentmentCurrencyCode": store.shops[gid]["currencyCode"],
                         "name": "#new", "totalPriceSet": {
                             "shopMoney": {"amount": "10.00", "currencyCode": store.shops[gid]["currencyCode"]},
                             "presentmentMoney": {"amount": "10.00",
                                                  "currencyCode": store.shops[gid]["currencyCode"]}}})
    kept = shop_fingerprint(url, down_id)
    monkeypatch.setenv("REVCERT_RETRY_ATTEMPTS", "2")
    monkeypatch.setattr(dag.get_task("shop.extract"), "retries", 0)
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path,
                                faults=[Fault("status", status=503, times=None, shop_id=down)])
    assert state == "failed"
    assert tasks["certify"] == "failed" and tasks["publish"] == "success" and tasks["close_run"] == "failed"
    assert sorted(state for task, state in tasks.items() if task.startswith("shop.extract")) == \
        ["failed", "success", "success", "success", "success"]
    assert shop_fingerprint(url, down_id) == kept
    assert figures_only(published(url, up_id)) == expected_days(store, up)
    records = shop_records(url)
    assert records[down_id][0] == "failed" and "HTTP 503" in records[down_id][2]
    assert all(records[s][:2] == ("certified", True) for s in records if s != down_id)
    pages = [t for t in slack.texts if t.startswith(":rotating_light:")]
    assert len(pages) == 1 and len(slack.texts) == 1
    assert f"*Shop {down_id}*" in pages[0] and "HTTP 503" in pages[0] and f"*Shop {up_id}*" not in pages[0]


def test_a_revoked_token_fails_that_shop_at_once(dag, monkeypatch, shops_after_certified_run, store, slack,
                                                 tmp_path):
    url = shops_after_certified_run
    revoked = list(store.shops)[2]
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path, revoked=(revoked,))
    assert state == "failed"
    records = shop_records(url)
    shop_id = revoked.rsplit("/", 1)[1]
    assert records[shop_id][0] == "failed" and "Invalid API key or access token" in records[shop_id][2]
    assert sum(1 for status, published_, _ in records.values() if status == "certified" and published_) == 4


def test_shops_failing_for_different_reasons_make_one_message_naming_each(dag, monkeypatch,
                                                                         shops_after_certified_run, store, slack,
                                                                         tmp_path):
    url = shops_after_certified_run
    down, revoked = list(store.shops)[:2]
    down_id, revoked_id = down.rsplit("/", 1)[1], revoked.rsplit("/", 1)[1]
    monkeypatch.setenv("REVCERT_RETRY_ATTEMPTS", "1")
    monkeypatch.setattr(dag.get_task("shop.extract"), "retries", 0)
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path, revoked=(revoked,),
                                faults=[Fault("status", status=503, times=None, shop_id=down)])
    assert state == "failed" and tasks["certify"] == "failed" and tasks["close_run"] == "failed"
    assert len(slack.texts) == 1, slack.texts
    [page] = slack.texts
    assert page.startswith(":rotating_light: *Shop revenue not certified for 2 shop(s)")
    assert f"*Shop {down_id}*" in page and "HTTP 503" in page
    assert f"*Shop {revoked_id}*" in page and "Invalid API key or access token" in page
    assert "*Failed checks:*" not in page and page.count("*completeness* (blocked)") == 2
    assert sum(1 for status, published_, _ in shop_records(url).values() if status == "certified" and published_) == 3


def presentment(order: dict) -> str:
    return order["totalPriceSet"]["presentmentMoney"]["currencyCode"]


def refund_in(currency: str, amount: str = "1.00") -> dict:
    return {"createdAt": "2026-11-19T12:00:00Z", "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {"amount": amount,
                                                                                   "currencyCode": currency}}}]}


def test_a_planted_cent_blocks_that_shop_only_and_pages(dag, monkeypatch, shops_after_certified_run, store, slack,
                                                        tmp_path):
    from revcert.certification.certify import certify_shop

    url = shops_after_certified_run
    target = list(store.shops)[3]
    target_id = target.rsplit("/", 1)[1]
    store.add_refund(an_order_of(store, target)["id"], refund_in(presentment(an_order_of(store, target))))
    kept = shop_fingerprint(url, target_id)

    def plant_a_cent_then_certify(conn, certification):
        if certification.scope == target_id:
            conn.execute("update mart.mart_shop_day set gross_revenue = gross_revenue + 0.01, net_revenue = "
                         "net_revenue + 0.01 where shop_id = %s and day = (select max(day) from "
                         "mart.mart_shop_day_scope where shop_id = %s)", [target_id, target_id])
        return certify_shop(conn, certification)

    monkeypatch.setattr(dag.get_task("certify"), "certify", plant_a_cent_then_certify)
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
    assert state == "failed" and tasks["certify"] == "failed"
    records = shop_records(url)
    assert records[target_id][:2] == ("failed", False) and "independent_derivation" in records[target_id][2]
    assert all(records[s][:2] == ("certified", True) for s in records if s != target_id)
    assert shop_fingerprint(url, target_id) == kept
    page = slack.texts[0]
    assert f"*Shop {target_id}*" in page and "gross_revenue" in page and "0.01" in page


def test_a_refund_date_shop_moves_its_refunds_to_their_own_dates(dag, monkeypatch, shops_after_certified_run, store,
                                                                 slack, tmp_path):
    url = shops_after_certified_run
    gid = list(store.shops)[0]
    shop_id = gid.rsplit("/", 1)[1]
    settings_file = tmp_path / "shop_settings.csv"
    settings_file.write_text(f"shop_id,refund_attribution,reason,approver\n{shop_id},refund_date,"
                             "matches Shopify's sales report,Controller\n")
    monkeypatch.setenv("REVCERT_SHOP_SETTINGS_FILE", str(settings_file))
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
    assert state == "success", tasks
    assert figures_only(published(url, shop_id)) == expected_days(store, gid, refunds_on_refund_date=True)
    assert expected_days(store, gid, refunds_on_refund_date=True) != expected_days(store, gid)
    with psycopg.connect(url) as conn:
        assert conn.execute("select refund_attribution from viz.shop where shop_id = %s",
                            [shop_id]).fetchone()[0] == "refund_date"


def test_a_range_repair_brings_back_an_order_the_staging_lost(dag, monkeypatch, shops_after_certified_run, store,
                                                              slack, tmp_path):
    """The repair path (params `shops`, `from`, `to`): an order missing from staging (a page missed once) is
    read again from the source for its dates, and its day is recomputed and published right."""
    url = shops_after_certified_run
    gid = list(store.shops)[4]
    shop_id = gid.rsplit("/", 1)[1]
    lost = an_order_of(store, gid)
    lost_day = order_day(store, gid, lost["id"])
    with psycopg.connect(url) as conn:
        for table in ("stg_refund_transaction", "stg_refund", "stg_order"):
            conn.execute(f"delete from staging.{table} where order_id = %s", [lost["id"].rsplit("/", 1)[1]])
        conn.execute("update viz.shop_daily_revenue set gross_revenue = gross_revenue - 1, net_revenue = "
                     "net_revenue - 1 where shop_id = %s and day = %s", [shop_id, lost_day])
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path, run_conf={
        "shops": [shop_id], "from": lost_day.isoformat(), "to": lost_day.isoformat()})
    assert state == "success", tasks
    assert published(url, shop_id)[lost_day] | {"certification_id": None} == \
        expected_days(store, gid)[lost_day] | {"certification_id": None}
    assert len([t for t in tasks if t.startswith("shop.extract")]) == 1


def test_a_shop_that_moves_timezone_is_recomputed_whole_with_no_day_left_from_before(
        dag, monkeypatch, shops_after_certified_run, store, slack, tmp_path):
    """METHODOLOGY.md B3: a shop's days are local days; when its timezone changes every order may change day,
    so every day is recomputed and nothing published under the old timezone stays."""
    url = shops_after_certified_run
    gid = list(store.shops)[2]
    shop_id = gid.rsplit("/", 1)[1]
    before = published(url, shop_id)
    store.shops[gid]["ianaTimezone"] = "Pacific/Kiritimati"  # UTC+14: most orders move a day later
    state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
    assert state == "success", tasks
    after = published(url, shop_id)
    assert figures_only(after) == expected_days(store, gid)
    assert figures_only(after) != figures_only(before)
    assert len({row["certification_id"] for row in after.values()}) == 1
    with psycopg.connect(url) as conn:
        assert conn.execute("select iana_timezone from viz.shop where shop_id = %s",
                            [shop_id]).fetchone()[0] == "Pacific/Kiritimati"


def test_incremental_runs_leave_every_shop_as_a_full_recompute_would(dag, monkeypatch, shops_after_certified_run,
                                                                    store, slack, tmp_path, postgres_server):
    """Refunds on old orders (in an order-date and a refund-date shop), cancellations, edited totals and new
    orders, over two incremental runs: every figure equals a full recompute's, to the cent."""
    from tests.conftest import new_database

    url = shops_after_certified_run
    settings_file = tmp_path / "shop_settings.csv"
    refund_dated = list(store.shops)[4].rsplit("/", 1)[1]
    settings_file.write_text(f"shop_id,refund_attribution,reason,approver\n{refund_dated},refund_date,test,CFO\n")
    monkeypatch.setenv("REVCERT_SHOP_SETTINGS_FILE", str(settings_file))
    assert run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)[0] == "success"
    for round_ in range(2):
        for number, gid in enumerate(store.shops):
            orders = [o for o in store.orders(gid) if not o["test"]]
            old = orders[(7 * round_ + number) % len(orders)]
            store.add_refund(old["id"], refund_in(presentment(old), "0.03"))
            store.edit_order(orders[-1 - round_]["id"], {"cancelledAt": "2026-11-19T08:00:00Z"})
            edited = orders[len(orders) // 2 + round_]
            money = edited["totalPriceSet"]
            store.edit_order(edited["id"], {"totalPriceSet": {
                "shopMoney": {**money["shopMoney"], "amount": str(Decimal(money["shopMoney"]["amount"]) + 1)},
                "presentmentMoney": money["presentmentMoney"]}})
        state, tasks = run_shop_dag(dag, monkeypatch, url, store, slack, tmp_path=tmp_path)
        assert state == "success", tasks
    whole = new_database(postgres_server, "whole_shops")
    state, _ = run_shop_dag(dag, monkeypatch, whole, store, slack, tmp_path=tmp_path,
                            run_conf={"full_extraction": True})
    assert state == "success"
    for gid in store.shops:
        shop_id = gid.rsplit("/", 1)[1]
        assert figures_only(published(url, shop_id)) == figures_only(published(whole, shop_id)), shop_id
        assert figures_only(published(url, shop_id)) == expected_days(
            store, gid, refunds_on_refund_date=shop_id == refund_dated), shop_id
