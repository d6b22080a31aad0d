"""The Shopify stand-in speaks the Admin GraphQL protocol.

Plain HTTPS clients page, search, count, bulk-read, get throttled and meet faults.

Every response is parsed with `loads_exact`, so numbers arrive as Decimal. The
bucket's clock is a fake one the tests move, so throttling is exact and nothing sleeps.
"""
from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from revcert.money import loads_exact
from revcert.snapshots.shopify_snapshot import ShopifySnapshotWriter, read_orders, read_shops
from revcert.standins.shopify.server import API_VERSION, Fault, ShopifyStandIn, ShopifyStore
from tests.conftest import shops_snapshot

pytestmark = pytest.mark.integration

TRANSACTION_FIELDS = "id kind status amountSet { presentmentMoney { amount currencyCode } }"
ORDER_FIELDS = f"""
    id shopId name createdAt updatedAt processedAt test cancelledAt currencyCode presentmentCurrencyCode
    totalPriceSet {{ shopMoney {{ amount currencyCode }} presentmentMoney {{ amount currencyCode }} }}
    refunds {{ id createdAt transactions(first: 5) {{ edges {{ node {{ {TRANSACTION_FIELDS} }} }} }} }}
"""
PAGE_QUERY = f"""
query Page($first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys, $reverse: Boolean) {{
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {{
    edges {{ cursor node {{ {ORDER_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
BULK_QUERY = f"""{{ orders {{ edges {{ node {{
    id shopId name createdAt updatedAt processedAt test cancelledAt currencyCode presentmentCurrencyCode
    totalPriceSet {{ shopMoney {{ amount currencyCode }} presentmentMoney {{ amount currencyCode }} }}
    refunds {{ id createdAt transactions {{ edges {{ node {{ {TRANSACTION_FIELDS} }} }} }} }}
}} }} }} }}"""
CHEAP_QUERY = "{ orders(first: 5) { edges { node { id totalPriceSet { shopMoney { amount } } } } } }"


class FakeClock:
    """Monotonic nanoseconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds * 1_000_000_000


class Client:
    """A plain HTTPS client of one shop, trusting the stand-in's CA."""

    def __init__(self, standin: ShopifyStandIn, shop_id: str) -> None:
        self.standin, self.shop_id = standin, shop_id
        self.session = requests.Session()
        self.session.verify = str(standin.ca_bundle)
        self.session.trust_env = False  # the CA bundle above, not REQUESTS_CA_BUNDLE

    def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
             timeout: float = 10) -> tuple[int, Any]:
        headers = {"X-Shopify-Access-Token": token if token is not None else self.standin.tokens[self.shop_id]}
        response = self.session.post(self.standin.graphql_url(), json={"query": query, "variables": variables or {}},
                                     headers=headers, timeout=timeout)
        return response.status_code, loads_exact(response.content)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        status, payload = self.post(query, variables)
        assert status == 200 and "errors" not in payload, payload
        return payload["data"]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shops_snapshot(tmp_path_factory, "shops", shops=3, orders=600, seed=5)


@pytest.fixture(scope="module")
def snapshot_orders(snapshot: Path) -> dict[str, list[dict]]:
    by_shop: dict[str, list[dict]] = {shop["id"]: [] for shop in read_shops(snapshot)}
    for order in read_orders(snapshot):
        by_shop[order["shopId"]].append(order)
    return by_shop


@pytest.fixture(scope="module")
def shops(snapshot: Path) -> dict[str, dict]:
    return {shop["id"]: shop for shop in read_shops(snapshot)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(snapshot: Path, tmp_path: Path, clock: FakeClock) -> Iterator[ShopifyStandIn]:
    with ShopifyStandIn(ShopifyStore.from_snapshot(snapshot), state_dir=tmp_path, clock=clock) as server:
        yield server


@pytest.fixture
def shop_ids(standin: ShopifyStandIn) -> list[str]:
    return list(standin.tokens)


@pytest.fixture
def client(standin: ShopifyStandIn, shop_ids: list[str]) -> Client:
    return Client(standin, shop_ids[0])


def as_snapshot(node: dict[str, Any]) -> dict[str, Any]:
    """An API order node in the snapshot's shape: each refund's transaction connection as a plain list."""
    refunds = [{**refund, "transactions": [edge["node"] for edge in refund["transactions"]["edges"]]}
               for refund in node["refunds"]]
    return {**node, "refunds": refunds}


def page_through(client: Client, clock: FakeClock, after: str | None = None,
                 **variables: Any) -> tuple[list[dict], int, int]:
    """Every order a query matches (after a cursor), page by page, waiting out throttling as a polite client does.

    Returns the orders, the number of pages and how often the bucket ran dry.
    """
    orders, pages, throttled = [], 0, 0
    while True:
        status, payload = client.post(PAGE_QUERY, {**variables, "after": after})
        assert status == 200
        if "errors" in payload:
            assert payload["errors"][0]["extensions"]["code"] == "THROTTLED", payload
            cost = payload["extensions"]["cost"]
            missing = cost["requestedQueryCost"] - cost["throttleStatus"]["currentlyAvailable"]
            clock.advance(int(missing // cost["throttleStatus"]["restoreRate"]) + 1)
            throttled += 1
            continue
        connection = payload["data"]["orders"]
        orders += [as_snapshot(edge["node"]) for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            return orders, pages, throttled
        after = connection["pageInfo"]["endCursor"]


def cost_of(payload: dict[str, Any]) -> dict[str, Any]:
    return payload["extensions"]["cost"]


def run_bulk(client: Client, query: str = BULK_QUERY) -> dict[str, Any]:
    """Start a bulk operation and poll until it is done; returns its last status."""
    started = client.data("mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } "
                          "userErrors { field message code } } }", {"q": query})["bulkOperationRunQuery"]
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    poll = "{ currentBulkOperation { id status errorCode objectCount rootObjectCount url createdAt completedAt } }"
    first = client.data(poll)["currentBulkOperation"]
    assert first["status"] == "RUNNING" and first["id"] == started["bulkOperation"]["id"] and first["url"] is None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        operation = client.data(poll)["currentBulkOperation"]
        if operation["status"] != "RUNNING":
            return operation
    raise AssertionError("bulk operation still running after 20 s")


def reassemble(jsonl: str) -> list[dict[str, Any]]:
    """Orders from bulk JSONL: order lines with refunds inline, transaction lines attached by __parentId."""
    orders, refunds = [], {}
    for line in jsonl.splitlines():
        record = loads_exact(line)
        if "__parentId" in record:
            parent = record.pop("__parentId")
            refunds[parent]["transactions"].append(record)
        else:
            for refund in record["refunds"]:
                refund["transactions"] = []
                refunds[refund["id"]] = refund
            orders.append(record)
    return orders


# -- who is asking ---------------------------------------------------------------------------------


def test_each_token_answers_for_its_own_shop(standin: ShopifyStandIn, snapshot: Path):
    shops = list(read_shops(snapshot))
    assert len(standin.tokens) == len(shops) == 3 and len(set(standin.tokens.values())) == 3
    for shop in shops:
        answer = Client(standin, shop["id"]).data("{ shop { id name ianaTimezone currencyCode } }")
        assert answer["shop"] == shop


@pytest.mark.parametrize("token", ["", "shpat_00000000000000000000000000000000"])
def test_a_missing_or_unknown_token_gets_shopifys_401(client: Client, token: str):
    status, payload = client.post("{ shop { id } }", token=token)
    assert status == 401
    assert payload == {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def test_a_revoked_token_stops_working_for_that_shop_only(standin: ShopifyStandIn, shop_ids: list[str]):
    first, second = Client(standin, shop_ids[0]), Client(standin, shop_ids[1])
    assert first.post("{ shop { id } }")[0] == 200
    standin.revoke_token(shop_ids[0])
    assert first.post("{ shop { id } }")[0] == 401
    assert second.data("{ shop { id } }")["shop"]["id"] == shop_ids[1]


def test_the_airflow_connection_names_every_shop_with_its_token(standin: ShopifyStandIn):
    connection = loads_exact(standin.airflow_connection())
    assert connection["conn_type"] == "http" and connection["host"] == standin.url
    assert connection["host"].startswith("https://127.0.0.1:")
    assert connection["extra"]["api_version"] == API_VERSION == "2025-01"
    assert Path(connection["extra"]["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert {s["id"]: s["token"] for s in connection["extra"]["shops"]} == standin.tokens


def test_unknown_paths_are_404_and_the_version_is_echoed(standin: ShopifyStandIn, client: Client):
    response = client.session.post(f"{standin.url}/admin/api/graphql.json", json={"query": "{ shop { id } }"},
                                   headers={"X-Shopify-Access-Token": standin.tokens[client.shop_id]})
    assert response.status_code == 404
    response = client.session.post(standin.graphql_url("2026-01"), json={"query": "{ shop { id } }"},
                                   headers={"X-Shopify-Access-Token": standin.tokens[client.shop_id]})
    assert response.status_code == 200 and response.headers["X-Shopify-API-Version"] == "2026-01"


# -- orders ------------------------------------------------------------------------------------------


def test_paging_with_a_small_first_returns_every_order_of_the_shop_exactly(client: Client, clock: FakeClock,
                                                                            snapshot_orders: dict):
    expected = sorted(snapshot_orders[client.shop_id], key=lambda o: int(o["id"].rsplit("/", 1)[1]))
    assert len(expected) > 100
    orders, pages, throttled = page_through(client, clock, first=7)
    assert orders == expected
    assert pages == -(-len(expected) // 7)
    # A page asks for 7 orders with 5 transactions per refund; a few dozen pages drain 1000 points.
    assert throttled > 0


def test_orders_hold_money_as_decimal_strings(client: Client):
    status, payload = client.post(PAGE_QUERY, {"first": 40})
    amounts = [edge["node"]["totalPriceSet"]["shopMoney"]["amount"] for edge in payload["data"]["orders"]["edges"]]
    assert status == 200 and len(amounts) == 40
    assert all(isinstance(a, str) and Decimal(a) == Decimal(a).quantize(Decimal("0.01")) for a in amounts)


def test_cursors_are_opaque_and_the_last_page_says_so(client: Client):
    connection = client.data(PAGE_QUERY, {"first": 3})["orders"]
    cursor = connection["pageInfo"]["endCursor"]
    assert cursor == connection["edges"][-1]["cursor"] and connection["pageInfo"]["hasNextPage"] is True
    assert "Order" not in cursor and base64.urlsafe_b64decode(cursor)
    last = client.data(PAGE_QUERY, {"first": 3, "reverse": True})["orders"]["edges"][0]["cursor"]
    tail = client.data(PAGE_QUERY, {"first": 3, "after": last})["orders"]
    assert tail["edges"] == [] and tail["pageInfo"] == {"hasNextPage": False, "endCursor": None}


@pytest.mark.parametrize("sort_key, field", [("UPDATED_AT", "updatedAt"), ("CREATED_AT", "createdAt"),
                                             ("ID", "id")])
def test_sort_keys_order_by_their_field_then_id_and_reverse_flips(client: Client, clock: FakeClock,
                                                                  snapshot_orders: dict, sort_key: str, field: str):
    def key(order: dict) -> tuple:
        number = int(order["id"].rsplit("/", 1)[1])
        return (number,) if field == "id" else (order[field], number)

    ascending, _, _ = page_through(client, clock, first=40, sortKey=sort_key)
    descending, _, _ = page_through(client, clock, first=40, sortKey=sort_key, reverse=True)
    assert [o["id"] for o in ascending] == [o["id"] for o in sorted(snapshot_orders[client.shop_id], key=key)]
    assert descending == ascending[::-1]


def test_updated_at_ties_are_broken_by_id_even_across_pages(snapshot_orders: dict, shops: dict, tmp_path: Path):
    template = next(iter(snapshot_orders.values()))[0]
    shop = shops[template["shopId"]]
    numbers = [5_600_000_000_300, 5_600_000_000_100, 5_600_000_000_200, 5_600_000_000_050]
    with ShopifySnapshotWriter(tmp_path / "ties") as writer:
        writer.write_shop(shop)
        for number in numbers:
            # Three orders changed in the same second, one a second later.
            stamp = "2026-11-20T09:00:01Z" if number == numbers[-1] else "2026-11-20T09:00:00Z"
            writer.write_order({**template, "id": f"gid://shopify/Order/{number}", "updatedAt": stamp})
    with ShopifyStandIn(ShopifyStore.from_snapshot(tmp_path / "ties"), state_dir=tmp_path) as standin:
        client, seen, after = Client(standin, shop["id"]), [], None
        while True:
            connection = client.data(PAGE_QUERY, {"first": 1, "sortKey": "UPDATED_AT", "after": after})["orders"]
            seen += [edge["node"]["id"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
    assert seen == [f"gid://shopify/Order/{n}" for n in (5_600_000_000_100, 5_600_000_000_200, 5_600_000_000_300,
                                                        5_600_000_000_050)]


# -- search ------------------------------------------------------------------------------------------


def ids_of(client: Client, clock: FakeClock, query: str, **variables: Any) -> list[str]:
    orders, _, _ = page_through(client, clock, first=40, query=query, **variables)
    return sorted(o["id"] for o in orders)


def test_an_updated_at_filter_returns_exactly_the_orders_changed_since(client: Client, clock: FakeClock,
                                                                       snapshot_orders: dict):
    mine = snapshot_orders[client.shop_id]
    since = sorted(o["updatedAt"] for o in mine)[len(mine) * 3 // 4]
    expected = sorted(o["id"] for o in mine if o["updatedAt"] >= since)
    assert 0 < len(expected) < len(mine)
    assert ids_of(client, clock, f"updated_at:>='{since}'") == expected
    assert ids_of(client, clock, f"updated_at:>={since}") == expected, "quotes are optional"
    assert ids_of(client, clock, f'updated_at:>="{since}"') == expected
    strictly = sorted(o["id"] for o in mine if o["updatedAt"] > since)
    assert ids_of(client, clock, f"updated_at:>'{since}'") == strictly != expected


def test_created_at_ranges_join_with_and_and_or(client: Client, clock: FakeClock, snapshot_orders: dict):
    mine = snapshot_orders[client.shop_id]
    march = sorted(o["id"] for o in mine if "2025-03-01T00:00:00Z" <= o["createdAt"] < "2025-04-01T00:00:00Z")
    august = sorted(o["id"] for o in mine if "2026-08-01T00:00:00Z" <= o["createdAt"] <= "2026-08-31T23:59:59Z")
    assert march and august
    in_march = "created_at:>='2025-03-01T00:00:00Z' AND created_at:<'2025-04-01T00:00:00Z'"
    in_august = "created_at:>=2026-08-01T00:00:00Z created_at:<=2026-08-31T23:59:59Z"
    assert ids_of(client, clock, in_march) == march
    assert ids_of(client, clock, in_august) == august, "a space joins terms like AND"
    assert ids_of(client, clock, f"{in_march} OR {in_august}") == sorted(march + august)
    # Offsets other than Z name the same instant.
    assert ids_of(client, clock, in_march.replace("2025-03-01T00:00:00Z", "2025-03-01T05:30:00+05:30")) == march


def test_orders_count_matches_the_snapshot_and_says_when_it_stopped_counting(client: Client, snapshot_orders: dict):
    mine = snapshot_orders[client.shop_id]
    count = client.data("{ ordersCount { count precision } }")["ordersCount"]
    assert count == {"count": len(mine), "precision": "EXACT"}
    in_2025 = sum(o["createdAt"] < "2026-01-01T00:00:00Z" for o in mine)
    query = '{ ordersCount(query: "created_at:<2026-01-01T00:00:00Z") { count precision } }'
    assert client.data(query)["ordersCount"] == {"count": in_2025, "precision": "EXACT"}
    capped = client.data("{ ordersCount(limit: 10) { count precision } }")["ordersCount"]
    assert capped == {"count": 10, "precision": "AT_LEAST"}
    uncapped = client.data("{ ordersCount(limit: null) { count precision } }")["ordersCount"]
    assert uncapped == {"count": len(mine), "precision": "EXACT"}


# -- cost and throttling -------------------------------------------------------------------------------


def test_every_answer_carries_its_cost_as_plain_numbers(client: Client):
    status, payload = client.post(CHEAP_QUERY)
    # 2 for the connection, then per order 1 for the order, 1 for totalPriceSet, 1 for shopMoney.
    assert status == 200 and cost_of(payload) == {
        "requestedQueryCost": 17, "actualQueryCost": 17,
        "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 983, "restoreRate": 50}}
    throttle = cost_of(payload)["throttleStatus"].values()
    assert all(isinstance(v, Decimal) and v == v.to_integral_value() for v in throttle)


def test_actual_cost_counts_what_came_back_and_the_rest_is_refunded(client: Client, snapshot_orders: dict):
    newest = max(o["createdAt"] for o in snapshot_orders[client.shop_id])
    query = CHEAP_QUERY.replace("first: 5", f'first: 5, query: "created_at:>={newest}"')
    _, payload = client.post(query)
    assert len(payload["data"]["orders"]["edges"]) == 1
    assert cost_of(payload)["requestedQueryCost"] == 17 and cost_of(payload)["actualQueryCost"] == 5
    assert cost_of(payload)["throttleStatus"]["currentlyAvailable"] == 995


def test_the_bucket_runs_dry_and_refills_at_the_restore_rate(client: Client, clock: FakeClock,
                                                             snapshot_orders: dict):
    assert len(snapshot_orders[client.shop_id]) >= 100
    query = "{ orders(first: 100) { edges { node { id totalPriceSet { shopMoney { amount } } } } } }"
    available = []
    for _ in range(3):
        status, payload = client.post(query)
        assert "data" in payload and cost_of(payload)["actualQueryCost"] == 302
        available.append(cost_of(payload)["throttleStatus"]["currentlyAvailable"])
    assert available == [698, 396, 94]
    status, payload = client.post(query)
    assert status == 200 and "data" not in payload
    assert payload["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    assert cost_of(payload)["requestedQueryCost"] == 302 and cost_of(payload)["actualQueryCost"] is None
    clock.advance(4)
    _, payload = client.post(query)
    assert payload["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert cost_of(payload)["throttleStatus"]["currentlyAvailable"] == 294
    clock.advance(1)
    _, payload = client.post(query)
    assert "errors" not in payload and cost_of(payload)["throttleStatus"]["currentlyAvailable"] == 42
    clock.advance(3600)
    assert cost_of(client.post("{ shop { id } }")[1])["throttleStatus"]["currentlyAvailable"] == 999


def test_an_emptied_bucket_throttles_that_shop_only(standin: ShopifyStandIn, shop_ids: list[str], clock: FakeClock):
    standin.empty_bucket(shop_ids[0])
    _, payload = Client(standin, shop_ids[0]).post("{ shop { id } }")
    assert payload["errors"][0]["extensions"]["code"] == "THROTTLED" and "data" not in payload
    assert cost_of(payload)["throttleStatus"]["currentlyAvailable"] == 0
    assert Client(standin, shop_ids[1]).data("{ shop { id } }")["shop"]["id"] == shop_ids[1]
    clock.advance(1)
    assert Client(standin, shop_ids[0]).data("{ shop { id } }")["shop"]["id"] == shop_ids[0]


def test_a_query_dearer_than_the_whole_bucket_is_refused(client: Client):
    query = f"{{ orders(first: 250) {{ edges {{ node {{ {ORDER_FIELDS} }} }} }} }}"
    status, payload = client.post(query)
    error = payload["errors"][0]
    assert status == 200 and "data" not in payload and error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["extensions"]["cost"] > 1000 and error["extensions"]["maxCost"] == 1000
    assert "exceeds the single query max cost limit (1000)" in error["message"]
    assert cost_of(payload)["throttleStatus"]["currentlyAvailable"] == 1000


# -- bulk operations -----------------------------------------------------------------------------------


def test_a_bulk_operation_runs_to_a_jsonl_file_that_reassembles_to_the_snapshot(client: Client,
                                                                               snapshot_orders: dict):
    assert client.data("{ currentBulkOperation { id } }")["currentBulkOperation"] is None
    operation = run_bulk(client)
    assert operation["status"] == "COMPLETED" and operation["errorCode"] is None
    assert operation["completedAt"] >= operation["createdAt"]
    response = requests.get(operation["url"], verify=str(client.standin.ca_bundle), timeout=10)
    assert response.status_code == 200
    lines = response.text.splitlines()
    expected = sorted(snapshot_orders[client.shop_id], key=lambda o: int(o["id"].rsplit("/", 1)[1]))
    transactions = sum(len(r["transactions"]) for o in expected for r in o["refunds"])
    assert int(operation["objectCount"]) == len(lines) == len(expected) + transactions
    assert int(operation["rootObjectCount"]) == len(expected)
    assert all("transactions" not in refund for line in lines for refund in loads_exact(line).get("refunds", []))
    children = [loads_exact(line) for line in lines if "__parentId" in line]
    assert children and all(c["__parentId"].startswith("gid://shopify/Refund/") for c in children)
    assert reassemble(response.text) == expected


def test_bulk_results_follow_the_query_filter_and_an_empty_result_has_no_url(client: Client, snapshot_orders: dict):
    since = "2026-06-01T00:00:00Z"
    query = BULK_QUERY.replace("orders {", f'orders(query: "updated_at:>={since}") {{', 1)
    operation = run_bulk(client, query)
    orders = reassemble(requests.get(operation["url"], verify=str(client.standin.ca_bundle), timeout=10).text)
    assert sorted(o["id"] for o in orders) == sorted(
        o["id"] for o in snapshot_orders[client.shop_id] if o["updatedAt"] >= since)
    nothing = run_bulk(client, BULK_QUERY.replace("orders {", 'orders(query: "created_at:<2020-01-01T00:00:00Z") {', 1))
    assert nothing["status"] == "COMPLETED" and int(nothing["objectCount"]) == 0 and nothing["url"] is None


def test_one_bulk_operation_at_a_time_per_shop(standin: ShopifyStandIn, shop_ids: list[str]):
    first, second = Client(standin, shop_ids[0]), Client(standin, shop_ids[1])
    start = ("mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } "
             "userErrors { field message code } } }")
    running = first.data(start, {"q": BULK_QUERY})["bulkOperationRunQuery"]["bulkOperation"]
    refused = first.data(start, {"q": BULK_QUERY})["bulkOperationRunQuery"]
    assert refused["bulkOperation"] is None
    assert refused["userErrors"] == [{"field": ["query"], "code": "OPERATION_IN_PROGRESS", "message":
                                      f"A bulk query operation for this app and shop is already in progress: "
                                      f"{running['id']}."}]
    assert second.data(start, {"q": BULK_QUERY})["bulkOperationRunQuery"]["userErrors"] == []


@pytest.mark.parametrize("query, message", [
    ("{ shop { id } }", "must contain at least one connection"),
    ("{ orders { edges { node { id nope } } } }", "Cannot query field 'nope'"),
    ("{ orders { edges { node { refunds { createdAt transactions { edges { node { id } } } } } } } }",
     "must select the 'id' field"),
    ('{ orders(query: "tag:vip") { edges { node { id } } } }', "unsupported search field 'tag'"),
    ("{ orders { edges { node { id }", "Syntax Error"),
])
def test_a_bulk_query_shopify_would_refuse_gets_a_user_error(client: Client, query: str, message: str):
    answer = client.data("mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } "
                         "userErrors { field message } } }", {"q": query})["bulkOperationRunQuery"]
    assert answer["bulkOperation"] is None and answer["userErrors"][0]["field"] == ["query"]
    assert message in answer["userErrors"][0]["message"]


def test_a_bulk_file_needs_its_signature(client: Client):
    url = run_bulk(client)["url"]
    assert requests.get(url, verify=str(client.standin.ca_bundle), timeout=10).status_code == 200
    forged = url.rsplit("=", 1)[0] + "=0000"
    assert requests.get(forged, verify=str(client.standin.ca_bundle), timeout=10).status_code == 403


# -- faults -----------------------------------------------------------------------------------------------


def test_a_5xx_fault_hits_the_nth_request_of_one_shop_n_times(standin: ShopifyStandIn, shop_ids: list[str]):
    mine, other = Client(standin, shop_ids[0]), Client(standin, shop_ids[1])
    fault = standin.inject(Fault("status", nth=2, times=2, status=503, shop_id=shop_ids[0]))
    statuses = []
    for _ in range(4):
        statuses.append(mine.post("{ shop { id } }")[0])
        assert other.post("{ shop { id } }")[0] == 200
    assert statuses == [200, 503, 503, 200] and fault.fired == 2
    response = mine.session.post(standin.graphql_url(), json={"query": "{ shop { id } }"},
                                 headers={"X-Shopify-Access-Token": standin.tokens[shop_ids[0]]})
    assert response.status_code == 200


def test_a_5xx_fault_forever_lasts_until_cleared(standin: ShopifyStandIn, client: Client):
    standin.inject(Fault("status", times=None, status=500))
    status, payload = client.post("{ shop { id } }")
    assert (status, payload) == (500, {"errors": "Internal Server Error"})
    assert all(client.post("{ shop { id } }")[0] == 500 for _ in range(5))
    standin.clear_faults()
    assert client.post("{ shop { id } }")[0] == 200


def test_a_cut_response_breaks_the_read_and_the_retry_succeeds(standin: ShopifyStandIn, client: Client):
    standin.inject(Fault("cut"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        client.post(PAGE_QUERY, {"first": 20})
    assert len(client.data(PAGE_QUERY, {"first": 20})["orders"]["edges"]) == 20


def test_a_cut_bulk_download_can_be_fetched_again(standin: ShopifyStandIn, client: Client):
    url = run_bulk(client)["url"]
    standin.inject(Fault("cut", path_contains="/bulk-operations/"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, verify=str(standin.ca_bundle), timeout=10).content  # noqa: B018
    assert requests.get(url, verify=str(standin.ca_bundle), timeout=10).text.count("\n") > 100


def test_a_slow_response_outlasts_a_short_timeout(standin: ShopifyStandIn, client: Client):
    standin.inject(Fault("slow", delay_seconds=0.4))
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post("{ shop { id } }", timeout=0.1)
    standin.inject(Fault("slow", delay_seconds=0.2))
    started = time.monotonic()
    assert client.post("{ shop { id } }")[0] == 200
    assert time.monotonic() - started >= 0.2


def test_a_throttle_fault_empties_the_bucket_on_the_nth_request(standin: ShopifyStandIn, client: Client):
    standin.inject(Fault("throttle", nth=2))
    assert "data" in client.post("{ shop { id } }")[1]
    _, payload = client.post("{ shop { id } }")
    assert payload["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert cost_of(payload)["throttleStatus"]["currentlyAvailable"] == 0


def test_a_revoke_fault_makes_the_token_fail_from_the_nth_request_on(standin: ShopifyStandIn, client: Client):
    standin.inject(Fault("revoke_token", nth=3, shop_id=client.shop_id))
    statuses = [client.post("{ shop { id } }")[0] for _ in range(5)]
    assert statuses == [200, 200, 401, 401, 401]
    assert standin.request_log[-1] == f"POST /admin/api/{API_VERSION}/graphql.json shop={client.shop_id}"


# -- live edits -------------------------------------------------------------------------------------------


def test_edits_refunds_and_new_orders_are_seen_by_an_updated_at_query(standin: ShopifyStandIn, client: Client,
                                                                      clock: FakeClock, snapshot_orders: dict):
    mine = snapshot_orders[client.shop_id]
    checkpoint = max(o["updatedAt"] for s in snapshot_orders.values() for o in s)
    since = f"updated_at:>'{checkpoint}'"
    assert ids_of(client, clock, since) == []

    edited = mine[10]
    new_total = {"shopMoney": {"amount": "1.05", "currencyCode": edited["currencyCode"]},
                 "presentmentMoney": {"amount": "1.05", "currencyCode": edited["currencyCode"]}}
    stamp = standin.store.edit_order(edited["id"], {"cancelledAt": "2026-11-20T12:00:00Z",
                                                    "totalPriceSet": new_total})
    assert stamp > checkpoint
    refunded = mine[20]
    refund = standin.store.add_refund(refunded["id"], {"transactions": [
        {"kind": "REFUND", "status": "SUCCESS",
         "amountSet": {"presentmentMoney": {"amount": "0.50", "currencyCode": refunded["presentmentCurrencyCode"]}}}]})
    added = standin.store.add_order({**mine[30], "id": None, "name": "#9999", "refunds": [],
                                     "createdAt": "2026-11-20T20:00:00Z", "processedAt": None})

    changed, _, _ = page_through(client, clock, first=10, query=since, sortKey="UPDATED_AT")
    assert [o["id"] for o in changed] == [edited["id"], refunded["id"], added["id"]]
    assert changed[0]["totalPriceSet"] == new_total and changed[0]["cancelledAt"] == "2026-11-20T12:00:00Z"
    assert changed[1]["refunds"][-1] == refund and refund["id"].startswith("gid://shopify/Refund/")
    assert refund["transactions"][0]["id"].startswith("gid://shopify/OrderTransaction/")
    assert changed[1]["refunds"][:-1] == refunded["refunds"]
    assert changed[2]["name"] == "#9999" and changed[2]["processedAt"] == "2026-11-20T20:00:00Z"
    stamps = [o["updatedAt"] for o in changed]
    assert stamps == sorted(set(stamps)) and stamps[0] == stamp
    assert client.data("{ ordersCount(limit: null) { count } }")["ordersCount"]["count"] == len(mine) + 1


def test_an_order_edited_mid_read_turns_up_again_past_the_cursor(standin: ShopifyStandIn, client: Client,
                                                                 clock: FakeClock, snapshot_orders: dict):
    page = client.data(PAGE_QUERY, {"first": 5, "sortKey": "UPDATED_AT"})["orders"]
    already_read = page["edges"][0]["node"]["id"]
    standin.store.edit_order(already_read, {"test": True})
    rest, _, _ = page_through(client, clock, after=page["pageInfo"]["endCursor"], first=40, sortKey="UPDATED_AT")
    assert rest[-1]["id"] == already_read and rest[-1]["test"] is True
    assert len(rest) == len(snapshot_orders[client.shop_id]) - 5 + 1


def test_edits_refuse_to_move_an_order_to_another_shop(standin: ShopifyStandIn, snapshot_orders: dict,
                                                       shop_ids: list[str]):
    order = snapshot_orders[shop_ids[0]][0]
    with pytest.raises(ValueError, match="cannot change an order's id or shop"):
        standin.store.edit_order(order["id"], {"shopId": shop_ids[1]})
    with pytest.raises(ValueError, match="already exists"):
        standin.store.add_order({**order})


# -- bad requests --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query, variables, message", [
    ("{ orders(first: 5) { edges { node { id }", {}, "Syntax Error"),
    ("{ orders(first: 5) { edges { node { totalRefunded } } } }", {}, "Cannot query field 'totalRefunded'"),
    (PAGE_QUERY, {"first": 5, "query": "financial_status:paid"}, "unsupported search field 'financial_status'"),
    (PAGE_QUERY, {"first": 5, "query": "NOT created_at:>2025-01-01T00:00:00Z"}, "unsupported search syntax at 0"),
    (PAGE_QUERY, {"first": 5, "query": "(created_at:>2025-01-01T00:00:00Z)"}, "unsupported search syntax at 0"),
    (PAGE_QUERY, {"first": 5, "query": "created_at:>2025-01-01"}, "has no UTC offset"),
    (PAGE_QUERY, {"first": 5, "query": "created_at:>2025-01-01T00:00:00Z AND"}, "ends with AND or OR"),
    (PAGE_QUERY, {"first": 5, "after": "not-a-cursor"}, "Invalid cursor"),
    ("{ orders(first: 251) { edges { node { id } } } }", {}, "between 1 and 250"),
    ("{ orders { edges { node { id } } } }", {}, "you must provide one of first or last"),
    ("{ orders(first: 5, sortKey: TOTAL_PRICE) { edges { node { id } } } }", {}, "TOTAL_PRICE"),
])
def test_bad_queries_get_graphql_errors_naming_the_problem(client: Client, query: str, variables: dict,
                                                           message: str):
    status, payload = client.post(query, variables)
    assert status == 200 and payload.get("data") is None
    assert any(message in error["message"] for error in payload["errors"]), payload["errors"]
    assert "cost" in payload["extensions"]


def test_a_cursor_of_another_sort_key_is_refused(client: Client):
    cursor = client.data(PAGE_QUERY, {"first": 2, "sortKey": "CREATED_AT"})["orders"]["pageInfo"]["endCursor"]
    _, payload = client.post(PAGE_QUERY, {"first": 2, "sortKey": "UPDATED_AT", "after": cursor})
    assert payload["data"] is None and "Invalid cursor" in payload["errors"][0]["message"]


@pytest.mark.parametrize("body, expected", [
    (b"{not json", "request body is not JSON"),
    (b'{"variables": {}}', {"query": "Required parameter missing or invalid"}),
])
def test_a_request_that_is_not_graphql_is_a_400(standin: ShopifyStandIn, client: Client, body: bytes, expected):
    response = client.session.post(standin.graphql_url(), data=body, headers={
        "X-Shopify-Access-Token": standin.tokens[client.shop_id], "Content-Type": "application/json"})
    errors = loads_exact(response.content)["errors"]
    assert response.status_code == 400
    assert errors == expected if isinstance(expected, dict) else expected in errors
