"""The subset of Shopify's Admin GraphQL schema the stand-in serves, and its resolvers.

Type and field names follow the real Admin API (2025-01), so a query written
against the stand-in runs against Shopify. Where the stand-in differs, the SDL
says so in a comment. graphql-core parses, validates and executes queries; the
resolvers below only find orders and shape them.

The SDL lives in this module rather than a `.graphql` file so that it ships in
the wheel without package-data settings.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, build_schema

from revcert.snapshots.shopify_snapshot import Record, parse_record
from revcert.standins.shopify.search import SearchSyntaxError, parse_search
from revcert.standins.shopify.store import ShopifyStore

if TYPE_CHECKING:
    from revcert.standins.shopify.bulk import BulkOperations

MAX_PAGE_SIZE = 250
DEFAULT_COUNT_LIMIT = 10000

SCHEMA_SDL = '''
schema { query: QueryRoot mutation: Mutation }

"A decimal number serialised as a string, e.g. \\"12.30\\" (never a float)."
scalar Decimal
"ISO 8601 UTC, e.g. \\"2026-11-20T10:00:00Z\\"."
scalar DateTime
scalar URL
"Serialised as a string, as Shopify does."
scalar UnsignedInt64
"An ISO 4217 code. Shopify's is an enum; a scalar accepts any code a snapshot holds."
scalar CurrencyCode

type QueryRoot {
  shop: Shop!
  orders(first: Int, after: String, query: String, sortKey: OrderSortKeys = ID,
         reverse: Boolean = false): OrderConnection!
  "Capped at `limit` (precision AT_LEAST) unless limit is null, as in Shopify since 2025-07."
  ordersCount(query: String, limit: Int = 10000): Count
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
}

type Mutation {
  bulkOperationRunQuery(query: String!): BulkOperationRunQueryPayload
}

type Shop { id: ID! name: String! ianaTimezone: String! currencyCode: CurrencyCode! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }
type OrderEdge { cursor: String! node: Order! }

enum OrderSortKeys { CREATED_AT ID PROCESSED_AT UPDATED_AT }

type Order {
  id: ID!
  "Not a field of Shopify's Order: the snapshot's link to its shop, served for completeness."
  shopId: ID!
  name: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  processedAt: DateTime!
  test: Boolean!
  cancelledAt: DateTime
  currencyCode: CurrencyCode!
  presentmentCurrencyCode: CurrencyCode!
  "Non-null in Shopify; nullable here so that a snapshot missing it reaches the extraction, which names it."
  totalPriceSet: MoneyBag
  refunds(first: Int): [Refund!]!
}

"shopMoney is non-null in Shopify; a snapshot's refund transactions carry presentment money only, so null there."
type MoneyBag { shopMoney: MoneyV2 presentmentMoney: MoneyV2! }
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }

type Refund {
  id: ID!
  createdAt: DateTime
  transactions(first: Int, after: String): OrderTransactionConnection!
}

type OrderTransactionConnection { edges: [OrderTransactionEdge!]! nodes: [OrderTransaction!]! pageInfo: PageInfo! }
type OrderTransactionEdge { cursor: String! node: OrderTransaction! }
type OrderTransaction { id: ID! kind: OrderTransactionKind! status: OrderTransactionStatus! amountSet: MoneyBag! }
enum OrderTransactionKind { AUTHORIZATION CAPTURE CHANGE EMV_AUTHORIZATION REFUND SALE SUGGESTED_REFUND VOID }
enum OrderTransactionStatus { AWAITING_RESPONSE ERROR FAILURE PENDING SUCCESS UNKNOWN }

type Count { count: Int! precision: CountPrecision! }
enum CountPrecision { AT_LEAST EXACT }

type BulkOperation {
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  "Null when the operation found nothing, as in Shopify."
  url: URL
  partialDataUrl: URL
  createdAt: DateTime!
  completedAt: DateTime
  query: String!
  type: BulkOperationType!
}
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { MUTATION QUERY }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }
type BulkOperationUserError { field: [String!] message: String! code: BulkOperationUserErrorCode }
enum BulkOperationUserErrorCode { INVALID OPERATION_IN_PROGRESS }
'''


@dataclass
class RequestContext:
    """What resolvers know about the request: whose shop, and whether it is a bulk run.

    Attributes:
        store: The orders.
        shop_id: The shop the access token belongs to; every answer is about this shop only.
        bulk: The bulk operations, for the bulk query and mutation.
        bulk_lines: Set during a bulk run: the orders of the chunk being written. Connections
            then return everything, unpaged, as Shopify's bulk operations do.
    """

    store: ShopifyStore
    shop_id: str
    bulk: BulkOperations | None = None
    bulk_lines: list[bytes] | None = field(default=None)


def _decimal_text(value: Any) -> Any:
    """Money goes out as the snapshot holds it: a decimal string digit for digit, as Shopify sends it.

    A snapshot that breaks the API's shape (a JSON number, a string that is no
    number) is served as it is, not refused here: the extraction must name
    such orders itself, so the stand-in lets them through to it.
    """
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError(f"expected a string, got {value!r}")
    return value


# -- cursors ---------------------------------------------------------------------------------------


def encode_cursor(payload: dict[str, Any]) -> str:
    """An opaque cursor (base64 of JSON, like Shopify's)."""
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from error
    if not isinstance(payload, dict):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}")
    return payload


def _page_size(first: int | None) -> int:
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if not 0 < first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"The first argument must be between 1 and {MAX_PAGE_SIZE} (got {first})")
    return first


def _connection(edges: list[dict[str, Any]], has_next: bool, has_previous: bool) -> dict[str, Any]:
    return {"edges": edges, "nodes": [edge["node"] for edge in edges],
            "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_previous,
                         "startCursor": edges[0]["cursor"] if edges else None,
                         "endCursor": edges[-1]["cursor"] if edges else None}}


# -- resolvers ------------------------------------------------------------------------------------


def resolve_shop(_root: Any, info: GraphQLResolveInfo) -> Record:
    context: RequestContext = info.context
    return context.store.shops[context.shop_id]


def resolve_orders(_root: Any, info: GraphQLResolveInfo, first: int | None = None, after: str | None = None,
                   query: str | None = None, sortKey: str = "ID", reverse: bool = False) -> dict[str, Any]:
    context: RequestContext = info.context
    if context.bulk_lines is not None:
        return _connection([{"cursor": "", "node": parse_record(line)} for line in context.bulk_lines], False, False)
    limit = _page_size(first)
    try:
        search = parse_search(query)
    except SearchSyntaxError as error:
        raise GraphQLError(f"Invalid search query {query!r}: {error}") from error
    position = None
    if after is not None:
        cursor = decode_cursor(after)
        if cursor.get("sort") != sortKey or not isinstance(cursor.get("last_value"), int) \
                or not isinstance(cursor.get("last_id"), int):
            raise GraphQLError(f"Invalid cursor for current pagination sort: {after!r}")
        position = (cursor["last_value"], cursor["last_id"])
    rows, has_next = context.store.select(context.shop_id, search, sortKey, reverse=reverse, after=position,
                                          limit=limit)
    edges = [{"cursor": encode_cursor({"sort": sortKey, "last_value": row.sort_value, "last_id": row.number}),
              "node": row.record()} for row in rows]
    return _connection(edges, has_next, after is not None)


def resolve_refunds(order: Record, _info: GraphQLResolveInfo, first: int | None = None) -> list[Record]:
    refunds = order.get("refunds") or []
    return refunds if first is None else refunds[:first]


def resolve_transactions(refund: Record, info: GraphQLResolveInfo, first: int | None = None,
                         after: str | None = None) -> dict[str, Any]:
    transactions = refund.get("transactions") or []
    context: RequestContext = info.context
    if context.bulk_lines is not None:
        return _connection([{"cursor": "", "node": t} for t in transactions], False, False)
    limit = _page_size(first)
    start = 0
    if after is not None:
        cursor = decode_cursor(after)
        if not isinstance(cursor.get("last_index"), int):
            raise GraphQLError(f"Invalid cursor for current pagination sort: {after!r}")
        start = cursor["last_index"] + 1
    page = transactions[start:start + limit]
    edges = [{"cursor": encode_cursor({"last_index": start + i}), "node": t} for i, t in enumerate(page)]
    return _connection(edges, start + limit < len(transactions), start > 0)


def resolve_orders_count(_root: Any, info: GraphQLResolveInfo, query: str | None = None,
                         limit: int | None = DEFAULT_COUNT_LIMIT) -> dict[str, Any]:
    context: RequestContext = info.context
    try:
        search = parse_search(query)
    except SearchSyntaxError as error:
        raise GraphQLError(f"Invalid search query {query!r}: {error}") from error
    found = context.store.count(context.shop_id, search, limit)
    if limit is not None and found > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": found, "precision": "EXACT"}


def resolve_current_bulk_operation(_root: Any, info: GraphQLResolveInfo, type: str = "QUERY") -> Record | None:
    context: RequestContext = info.context
    if type != "QUERY" or context.bulk is None:
        return None
    return context.bulk.current(context.shop_id)


def resolve_bulk_operation_run_query(_root: Any, info: GraphQLResolveInfo, query: str) -> Record:
    context: RequestContext = info.context
    assert context.bulk is not None, "bulk operations are not served here"
    return context.bulk.start(context.shop_id, query)


@lru_cache(maxsize=1)
def admin_schema() -> GraphQLSchema:
    """The schema with its resolvers and scalars bound (built once; it is immutable after this)."""
    schema = build_schema(SCHEMA_SDL)
    schema.type_map["Decimal"].coerce_output_value = _decimal_text  # type: ignore[attr-defined]
    for name in ("DateTime", "URL", "CurrencyCode"):
        schema.type_map[name].coerce_output_value = _text  # type: ignore[attr-defined]
    schema.type_map["UnsignedInt64"].coerce_output_value = lambda value: str(int(value))  # type: ignore[attr-defined]
    query, mutation = schema.query_type, schema.mutation_type
    assert query is not None and mutation is not None
    query.fields["shop"].resolve = resolve_shop
    query.fields["orders"].resolve = resolve_orders
    query.fields["ordersCount"].resolve = resolve_orders_count
    query.fields["currentBulkOperation"].resolve = resolve_current_bulk_operation
    mutation.fields["bulkOperationRunQuery"].resolve = resolve_bulk_operation_run_query
    schema.type_map["Order"].fields["refunds"].resolve = resolve_refunds  # type: ignore[attr-defined]
    schema.type_map["Refund"].fields["transactions"].resolve = resolve_transactions  # type: ignore[attr-defined]
    return schema
