"""Shopify extraction into raw and staging, one shop at a time: paged and bulk, incremental after edits,
rate limits, faults that clear and faults that do not, a revoked token, bad values and duplicate ids."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from revcert.extraction.errors import SourceDataError, SourceRefused, SourceUnavailable
from revcert.extraction.shopify_client import TRANSACTIONS_PER_REFUND, ShopAccess, ShopifyClient, legacy_id
from revcert.local.extract import extract_shopify
from revcert.money import dumps_exact
from revcert.settings import Settings
from revcert.staging.shopify_staging import read_shop_audit, stage_shop_batch
from revcert.standins.shopify.server import Fault, ShopifyStandIn, ShopifyStore

pytestmark = pytest.mark.integration

PAGED = Settings(retry_attempts=3, request_timeout=5, shopify_bulk_threshold=10**6)
BULK = Settings(retry_attempts=3, request_timeout=5, shopify_bulk_threshold=0)
STAGED = {"stg_shop": "shop_id", "stg_order": "order_id", "stg_refund": "refund_id",
          "stg_refund_transaction": "transaction_id"}


class FakeClock:
    """The stand-in's bucket clock (monotonic nanoseconds), moved only by the client's waits."""

    def __init__(self) -> None:
        self.now = 10**15
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.now

    def seconds(self) -> float:
        return self.now / 1_000_000_000

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += int(seconds * 1_000_000_000)


@pytest.fixture
def store(small_shops: Path) -> ShopifyStore:
    return ShopifyStore.from_snapshot(small_shops)


@pytest.fixture
def shopify(store: ShopifyStore, tmp_path: Path) -> Iterator[ShopifyStandIn]:
    """The small shops, with a rate limit wide open (the throttling tests make their own)."""
    with ShopifyStandIn(store, state_dir=tmp_path, bucket_size=10**7, restore_rate=10**7) as standin:
        yield standin


def client_for(standin: ShopifyStandIn, shop_gid: str, settings: Settings = PAGED, **kwargs) -> ShopifyClient:
    access = ShopAccess(shop_gid, standin.graphql_url(), standin.tokens[shop_gid], str(standin.ca_bundle))
    return ShopifyClient(access, settings, sleep=kwargs.pop("sleep", lambda seconds: None), **kwargs)


def extract(url: str, standin: ShopifyStandIn, shop_gid: str, settings: Settings = PAGED, **kwargs) -> int:
    with client_for(standin, shop_gid, settings) as client:
        return extract_shopify(url, client, settings, **kwargs)


def staged(url: str, shop_id: str) -> dict[str, list[tuple]]:
    """A shop's staged rows, table by table, without the batch that brought them, in key order."""
    rows = {}
    with psycopg.connect(url) as conn:
        for table, key in STAGED.items():
            cursor = conn.execute(f"select * from staging.{table} where shop_id = %s order by {key}", [shop_id])
            keep = [i for i, column in enumerate(cursor.description) if column.name != "batch_id"]
            rows[table] = [tuple(row[i] for i in keep) for row in cursor.fetchall()]
    return rows


def batch_row(url: str, batch_id: int) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute("select status, mode, error from raw.extraction_batch where batch_id = %s",
                            [batch_id]).fetchone()


def last_batch(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select max(batch_id) from raw.extraction_batch").fetchone()[0]


def watermark(url: str, shop_id: str):
    with psycopg.connect(url) as conn:
        row = conn.execute("select watermark from staging.shopify_watermark where shop_id = %s", [shop_id]).fetchone()
    return row[0] if row else None


def audit(url: str, batch_id: int):
    with psycopg.connect(url) as conn:
        return read_shop_audit(conn, batch_id)


def first_shop(store: ShopifyStore) -> str:
    """The shop with the most orders, so paging happens."""
    return max(store.shops, key=lambda gid: sum(1 for _ in store.orders(gid)))


def an_order(store: ShopifyStore, shop_gid: str, **wanted) -> dict:
    return next(o for o in store.orders(shop_gid) if all(bool(o.get(k)) == v for k, v in wanted.items()))


def test_a_full_paged_read_stages_every_order_of_the_shop_exactly_as_the_source_has_it(warehouse_url, shopify,
                                                                                        store):
    gid = first_shop(store)
    shop_id = legacy_id(gid)
    batch = extract(warehouse_url, shopify, gid)
    source = {legacy_id(o["id"]): o for o in store.orders(gid)}
    rows = staged(warehouse_url, shop_id)
    assert len(source) > 100 and {row[0] for row in rows["stg_order"]} == set(source)
    with psycopg.connect(warehouse_url) as conn:
        amounts = dict(conn.execute("select order_id, shop_total from staging.stg_order where shop_id = %s",
                                    [shop_id]).fetchall())
        transactions = dict(conn.execute("select transaction_id, amount from staging.stg_refund_transaction "
                                         "where shop_id = %s", [shop_id]).fetchall())
    assert amounts == {order_id: Decimal(o["totalPriceSet"]["shopMoney"]["amount"]) for order_id, o in source.items()}
    assert transactions == {legacy_id(t["id"]): Decimal(t["amountSet"]["presentmentMoney"]["amount"])
                            for o in source.values() for r in o.get("refunds") or [] for t in r["transactions"]}
    assert all(isinstance(v, Decimal) for v in (*amounts.values(), *transactions.values()))
    report = audit(warehouse_url, batch)
    assert report.complete and report.api == "paged" and report.orders_fetched == report.source_count == len(source)
    assert watermark(warehouse_url, shop_id) == max(
        datetime.fromisoformat(o["updatedAt"].replace("Z", "+00:00")) for o in source.values())
    assert {row[0] for row in rows["stg_shop"]} == {shop_id}
    with psycopg.connect(warehouse_url) as conn:
        # The shop mart plans its reads of staging right after the merge: from the tables' real sizes.
        counted = dict(conn.execute("select relname, reltuples from pg_class where relnamespace = "
                                    "'staging'::regnamespace and relname = any(%s)", [list(STAGED)]).fetchall())
    assert counted == {table: len(rows[table]) for table in STAGED}


def test_a_bulk_read_stages_the_same_rows_as_a_paged_one(postgres_server, shopify, store):
    from tests.conftest import new_database

    gid = first_shop(store)
    paged_url, bulk_url = new_database(postgres_server), new_database(postgres_server)
    extract(paged_url, shopify, gid, PAGED)
    batch = extract(bulk_url, shopify, gid, BULK)
    assert audit(bulk_url, batch).api == "bulk"
    assert staged(bulk_url, legacy_id(gid)) == staged(paged_url, legacy_id(gid))
    assert any("/bulk-operations/" in line for line in shopify.request_log)


def test_a_bulk_result_cut_short_is_downloaded_again_whole(postgres_server, shopify, store):
    from tests.conftest import new_database

    gid = first_shop(store)
    clean, cut = new_database(postgres_server), new_database(postgres_server)
    extract(clean, shopify, gid, BULK)
    shopify.inject(Fault("cut", shop_id=gid, path_contains="/bulk-operations/"))
    extract(cut, shopify, gid, BULK)
    assert sum("/bulk-operations/" in line for line in shopify.request_log) == 3
    assert staged(cut, legacy_id(gid)) == staged(clean, legacy_id(gid))


def test_a_bulk_result_is_read_in_pages_with_every_transaction_beside_its_refund(shopify, store):
    """Pages end only where an order begins: no transaction line is ever split from its refund."""
    gid = first_shop(store)
    with client_for(shopify, gid, BULK) as client:
        pages = list(client.bulk_order_pages(None, page_size=7))
    orders = [order for page in pages for order in page]
    assert len(pages) > 10 and all(len(page) == 7 for page in pages[:-1])
    source = {o["id"]: o for o in store.orders(gid)}
    assert [o["id"] for o in orders] == sorted(source, key=lambda gid_: int(legacy_id(gid_)))
    for order in orders:
        expected = [[t["id"] for t in r["transactions"]] for r in source[order["id"]].get("refunds") or []]
        assert [[e["node"]["id"] for e in r["transactions"]["edges"]] for r in order.get("refunds") or []] == expected


def test_an_incremental_read_after_edits_stages_what_a_full_read_would(postgres_server, shopify, store):
    """Orders refunded, edited, cancelled and added after the first read: the incremental read (on
    updated_at with a lookback) reads only those, and staging ends as a whole read of the shop now."""
    from tests.conftest import new_database

    gid = first_shop(store)
    shop_id = legacy_id(gid)
    url = new_database(postgres_server)
    extract(url, shopify, gid)
    first_mark = watermark(url, shop_id)
    currency = store.shops[gid]["currencyCode"]
    refunded = an_order(store, gid, refunds=False, test=False)
    store.add_refund(refunded["id"], {"createdAt": "2026-11-19T12:00:00Z", "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {
            "amount": "1.00", "currencyCode": refunded["totalPriceSet"]["presentmentMoney"]["currencyCode"]}}}]})
    store.edit_order(an_order(store, gid, test=False, cancelledAt=False)["id"],
                     {"cancelledAt": "2026-11-19T13:00:00Z"})
    store.add_order({"shopId": gid, "createdAt": "2026-11-20T10:00:00Z", "name": "#late",
                     "currencyCode": currency, "presentmentCurrencyCode": currency, "totalPriceSet": {
                         "shopMoney": {"amount": "42.10", "currencyCode": currency},
                         "presentmentMoney": {"amount": "42.10", "currencyCode": currency}}})
    batch = extract(url, shopify, gid)
    report = audit(url, batch)
    assert report.api == "paged" and 3 <= report.orders_fetched < 10 and report.complete
    assert watermark(url, shop_id) > first_mark

    whole = new_database(postgres_server)
    extract(whole, shopify, gid, full=True)
    assert staged(url, shop_id) == staged(whole, shop_id)


def test_an_order_edited_between_two_pages_is_staged_in_its_latest_version(warehouse_url, shopify, store):
    gid = first_shop(store)
    edited = an_order(store, gid, test=False)
    pages_seen = []

    class EditAfterFirstPage(ShopifyClient):
        def order_pages(self, search=None):
            for page in super().order_pages(search):
                pages_seen.append(len(page))
                if len(pages_seen) == 1:
                    store.edit_order(edited["id"], {"name": "#edited"})
                yield page

    access = ShopAccess(gid, shopify.graphql_url(), shopify.tokens[gid], str(shopify.ca_bundle))
    with EditAfterFirstPage(access, PAGED, sleep=lambda s: None) as client:
        batch = extract_shopify(warehouse_url, client, PAGED)
    with psycopg.connect(warehouse_url) as conn:
        versions = conn.execute("select count(*) from raw.shopify_record where batch_id = %s and record_id = %s",
                                [batch, legacy_id(edited["id"])]).fetchone()[0]
        name = conn.execute("select order_name from staging.stg_order where order_id = %s",
                            [legacy_id(edited["id"])]).fetchone()[0]
    assert len(pages_seen) > 1 and versions == 2 and name == "#edited"
    assert audit(warehouse_url, batch).complete


def test_a_refund_with_more_transactions_than_a_page_holds_is_read_whole(warehouse_url, shopify, store):
    gid = first_shop(store)
    order = an_order(store, gid, refunds=False, test=False)
    currency = order["totalPriceSet"]["presentmentMoney"]["currencyCode"]
    many = TRANSACTIONS_PER_REFUND + 3
    refund = store.add_refund(order["id"], {"createdAt": "2026-11-19T12:00:00Z", "transactions": [
        {"kind": "REFUND", "status": "SUCCESS", "amountSet": {"presentmentMoney": {
            "amount": "0.01", "currencyCode": currency}}} for _ in range(many)]})
    extract(warehouse_url, shopify, gid, PAGED)
    with psycopg.connect(warehouse_url) as conn:
        staged_count = conn.execute("select count(*) from staging.stg_refund_transaction where refund_id = %s",
                                    [legacy_id(refund["id"])]).fetchone()[0]
    assert staged_count == many


def test_the_client_waits_for_the_bucket_and_is_never_throttled(warehouse_url, store, tmp_path):
    """Shopify's standard limit (1,000 points restoring 50 a second): the client reads each answer's
    throttleStatus and waits before the bucket runs dry, so no request is refused and none is repeated."""
    clock = FakeClock()
    gid = first_shop(store)
    with ShopifyStandIn(store, state_dir=tmp_path, bucket_size=1000, restore_rate=50, clock=clock) as standin:
        access = ShopAccess(gid, standin.graphql_url(), standin.tokens[gid], str(standin.ca_bundle))
        with ShopifyClient(access, PAGED, sleep=clock.sleep, clock=clock.seconds) as client:
            extract_shopify(warehouse_url, client, PAGED)
            sent, spent = client.requests_sent, client.cost_spent
    pages = -(-sum(1 for _ in store.orders(gid)) // 25)
    assert sent == pages + 3  # the shop, the pages, the count before paging and the source's count after
    assert clock.slept and sum(clock.slept) >= (spent - 1000) / 50 - 1
    assert audit(warehouse_url, last_batch(warehouse_url)).complete


def test_a_throttled_answer_is_waited_out_and_asked_again(warehouse_url, store, tmp_path):
    """Another app sharing the shop's bucket empties it: the THROTTLED answer is waited out, then asked again."""
    clock = FakeClock()
    gid = first_shop(store)
    with ShopifyStandIn(store, state_dir=tmp_path, bucket_size=1000, restore_rate=50, clock=clock) as standin:
        standin.inject(Fault("throttle", nth=4, shop_id=gid))  # the second page
        with client_for(standin, gid, sleep=clock.sleep, clock=clock.seconds) as client:
            extract_shopify(warehouse_url, client, PAGED)
            sent = client.requests_sent
    pages = -(-sum(1 for _ in store.orders(gid)) // 25)
    assert sent == pages + 4 and clock.slept
    assert audit(warehouse_url, last_batch(warehouse_url)).complete


@pytest.mark.parametrize("fault", [
    Fault("status", nth=2, times=2, status=503),
    Fault("status", nth=3, status=502),
    Fault("cut", nth=2),
    Fault("status", nth=1, status=429),
], ids=["503-twice", "502", "cut-answer", "429"])
def test_transient_faults_are_retried_and_the_read_is_whole(fault, postgres_server, shopify, store):
    from tests.conftest import new_database

    gid = first_shop(store)
    clean, faulty = new_database(postgres_server), new_database(postgres_server)
    extract(clean, shopify, gid)
    shopify.inject(Fault(**{**fault.__dict__, "shop_id": gid, "seen": 0, "fired": 0}))
    extract(faulty, shopify, gid)
    assert staged(faulty, legacy_id(gid)) == staged(clean, legacy_id(gid))
    assert audit(faulty, last_batch(faulty)).complete


def test_a_source_that_stays_down_fails_the_batch_and_keeps_staging_and_watermark(warehouse_url, shopify, store):
    gid = first_shop(store)
    shop_id = legacy_id(gid)
    extract(warehouse_url, shopify, gid)
    before, mark = staged(warehouse_url, shop_id), watermark(warehouse_url, shop_id)
    store.edit_order(an_order(store, gid)["id"], {"name": "#changed"})
    shopify.inject(Fault("status", nth=2, times=None, status=503, shop_id=gid))
    with pytest.raises(SourceUnavailable, match="after 3 attempts: HTTP 503"):
        extract(warehouse_url, shopify, gid)
    status, _, error = batch_row(warehouse_url, last_batch(warehouse_url))
    assert status == "failed" and "SourceUnavailable" in error
    assert staged(warehouse_url, shop_id) == before and watermark(warehouse_url, shop_id) == mark


def test_a_revoked_token_is_refused_at_once_without_retries(warehouse_url, shopify, store):
    gid = first_shop(store)
    shopify.revoke_token(gid)
    with client_for(shopify, gid) as client:
        with pytest.raises(SourceRefused, match="Invalid API key or access token"):
            extract_shopify(warehouse_url, client, PAGED)
        assert client.requests_sent == 1
    assert batch_row(warehouse_url, last_batch(warehouse_url))[0] == "failed"


@pytest.mark.parametrize("change, rule", [
    (lambda o: {"totalPriceSet": None}, "missing_total"),
    (lambda o: {"totalPriceSet": {**o["totalPriceSet"], "presentmentMoney": {
        **o["totalPriceSet"]["presentmentMoney"], "amount": Decimal("19.99")}}}, "amount_not_a_decimal_string"),
    (lambda o: {"totalPriceSet": {**o["totalPriceSet"], "shopMoney": {
        **o["totalPriceSet"]["shopMoney"], "amount": "12,50"}}}, "amount_not_a_decimal_string"),
    (lambda o: {"totalPriceSet": {**o["totalPriceSet"], "shopMoney": {
        **o["totalPriceSet"]["shopMoney"], "amount": "NaN"}}}, "amount_not_a_decimal_string"),
], ids=["no-total", "a-json-number", "a-comma", "nan"])
def test_a_malformed_value_stops_the_batch_naming_the_order_and_the_rule(change, rule, warehouse_url, shopify,
                                                                         store):
    gid = first_shop(store)
    order = an_order(store, gid)
    store.edit_order(order["id"], change(order))
    with pytest.raises(SourceDataError, match=rule) as raised:
        extract(warehouse_url, shopify, gid)
    assert f"order {legacy_id(order['id'])}" in str(raised.value)
    batch = last_batch(warehouse_url)
    assert batch_row(warehouse_url, batch)[0] == "failed"
    with psycopg.connect(warehouse_url) as conn:
        kept = conn.execute("select count(*) from raw.shopify_record where batch_id = %s and object_name = 'Order'",
                            [batch]).fetchone()[0]
    assert kept == sum(1 for _ in store.orders(gid))
    assert staged(warehouse_url, legacy_id(gid))["stg_order"] == [] and watermark(warehouse_url, legacy_id(gid)) is None


def test_two_different_orders_under_one_id_stop_staging_naming_them(warehouse_url, shopify, store):
    """Shopify never sends two versions of an order with one updatedAt; if raw holds two, staging
    cannot know which is the order, so it stages nothing and names them."""
    gid = first_shop(store)
    shop_id = legacy_id(gid)
    order = an_order(store, gid, test=False)
    from revcert.extraction.shopify_extract import extract_shop, open_shop_batch

    batch = open_shop_batch(warehouse_url, shop_id)
    with client_for(shopify, gid) as client:
        extract_shop(warehouse_url, batch, client, PAGED)
    twin = {**order, "name": "#twin"}
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("insert into raw.shopify_record (batch_id, shop_id, object_name, record_id, updated_at, record) "
                     "values (%s, %s, 'Order', %s, %s, %s)",
                     [batch.batch_id, shop_id, legacy_id(order["id"]), order["updatedAt"], dumps_exact(twin)])
    with pytest.raises(SourceDataError, match="duplicate_order_id") as raised:
        stage_shop_batch(warehouse_url, batch.batch_id)
    assert legacy_id(order["id"]) in str(raised.value)
    assert batch_row(warehouse_url, batch.batch_id)[0] == "failed"
    assert staged(warehouse_url, shop_id)["stg_order"] == []


def test_a_range_read_fetches_the_orders_near_those_days_or_changed_since_and_keeps_the_watermark(
        warehouse_url, shopify, store):
    gid = first_shop(store)
    shop_id = legacy_id(gid)
    extract(warehouse_url, shopify, gid)
    mark = watermark(warehouse_url, shop_id)
    # A day near the end of the shop's history: most orders are neither placed near it nor changed since.
    day = date.fromisoformat(sorted(o["createdAt"] for o in store.orders(gid))[-20][:10])
    batch = extract(warehouse_url, shopify, gid, order_days=(day, day))
    report = audit(warehouse_url, batch)
    start, end = (datetime.combine(day + timedelta(days=n), time(), timezone.utc) for n in (-1, 2))

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    due = [o for o in store.orders(gid)
           if start <= moment(o["createdAt"]) < end or moment(o["updatedAt"]) >= start]
    assert report.api == "paged" and report.orders_fetched == len(due) < sum(1 for _ in store.orders(gid))
    assert batch_row(warehouse_url, batch)[1] == "range" and watermark(warehouse_url, shop_id) == mark


def test_a_token_that_answers_for_another_shop_is_refused(warehouse_url, shopify, store):
    first, second = list(store.shops)[:2]
    access = ShopAccess(first, shopify.graphql_url(), shopify.tokens[second], str(shopify.ca_bundle))
    with ShopifyClient(access, PAGED) as client:
        with pytest.raises(SourceDataError, match=f"answers for shop {second}"):
            extract_shopify(warehouse_url, client, PAGED)


def test_a_range_asked_for_a_shop_never_staged_reads_it_whole(warehouse_url, shopify, store):
    """A range repairs staging; it cannot start it, or the shop's other days would be computed from nothing."""
    gid = first_shop(store)
    batch = extract(warehouse_url, shopify, gid, order_days=(date(2026, 11, 1), date(2026, 11, 2)))
    assert batch_row(warehouse_url, batch)[1] == "full" and audit(warehouse_url, batch).complete
    assert len(staged(warehouse_url, legacy_id(gid))["stg_order"]) == sum(1 for _ in store.orders(gid))
