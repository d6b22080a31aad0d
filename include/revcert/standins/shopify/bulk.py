"""Bulk query operations: a whole `orders` query run in the background into a JSONL file.

As in Shopify: one operation at a time per shop; `bulkOperationRunQuery`
answers CREATED; `currentBulkOperation` reports RUNNING on the first poll and
COMPLETED (with a signed `url`) on a later one, once the file is written.
Each order is one line, with list fields such as `refunds` inline; the nodes of
a nested connection (a refund's `transactions`) are lines of their own that
name their parent in `__parentId`, right after it.

The orders are chosen when the operation starts (later edits are not in it) and
written in chunks, so a million orders never sit in memory as one result.
"""
from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from revcert.money import dumps_exact
from revcert.snapshots.shopify_snapshot import Record
from revcert.standins.shopify.schema import RequestContext, admin_schema
from revcert.standins.shopify.search import SearchSyntaxError, parse_search
from revcert.standins.shopify.store import ShopifyStore

CHUNK_SIZE = 250


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class BulkOperation:
    """One bulk query and what became of it.

    `status` is what the shop's polls have seen; `outcome` is set by the writer when
    the file is done and becomes the status at the next poll.
    """

    number: int
    shop_id: str
    query: str
    path: Path
    signature: str = field(default_factory=lambda: secrets.token_hex(16))
    created_at: str = field(default_factory=_now)
    status: str = "CREATED"
    outcome: str | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    completed_at: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def gid(self) -> str:
        return f"gid://shopify/BulkOperation/{self.number}"

    @property
    def in_progress(self) -> bool:
        return self.status in ("CREATED", "RUNNING")


def _user_error(message: str, code: str = "INVALID") -> Record:
    return {"bulkOperation": None, "userErrors": [{"field": ["query"], "message": message, "code": code}]}


def _field_nodes(node: FieldNode | OperationDefinitionNode) -> list[FieldNode]:
    # Bulk queries are plain: fragments are not expanded here (Shopify allows them; no test needs them).
    return [s for s in node.selection_set.selections if isinstance(s, FieldNode)] if node.selection_set else []


def _connections_without_id(parent: GraphQLObjectType, field_node: FieldNode) -> Iterator[str]:
    """Names of nested connections whose parent object does not select `id` (Shopify needs it for __parentId)."""
    selected = {child.name.value: child for child in _field_nodes(field_node)}
    for name, child in selected.items():
        if name not in parent.fields:
            continue
        child_type = get_named_type(parent.fields[name].type)
        if not isinstance(child_type, GraphQLObjectType):
            continue
        if child_type.name.endswith("Connection"):
            if "id" not in selected or selected["id"].alias is not None:
                yield name
            node_type = get_named_type(child_type.fields["nodes"].type)
            assert isinstance(node_type, GraphQLObjectType)
            for part in _field_nodes(child):
                inner = [n for n in _field_nodes(part) if n.name.value == "node"] if part.name.value == "edges" \
                    else [part] if part.name.value == "nodes" else []
                for node in inner:
                    yield from _connections_without_id(node_type, node)
        else:
            yield from _connections_without_id(child_type, child)


def _is_connection_value(value: Any) -> bool:
    # Only connection types have `edges` or `nodes` fields in this schema, so their values are recognisable.
    return isinstance(value, dict) and (isinstance(value.get("edges"), list) or isinstance(value.get("nodes"), list))


def _connection_nodes(value: dict[str, Any]) -> list[Record]:
    if isinstance(value.get("nodes"), list):
        return [node for node in value["nodes"] if node is not None]
    return [edge["node"] for edge in value["edges"] if edge and edge.get("node") is not None]


def flatten(node: Record, parent_id: str | None = None) -> list[Record]:
    """One result node as bulk JSONL lines: itself without nested connections, then their nodes.

    A nested connection's nodes name the object that holds the connection (a refund, for
    transactions) in `__parentId`; list fields such as `refunds` stay inline.
    """
    children: list[Record] = []
    own = _detach(node, children)
    if parent_id is not None:
        own["__parentId"] = parent_id
    return [own, *children]


def _detach(value: Any, children: list[Record]) -> Any:
    if isinstance(value, list):
        return [_detach(item, children) for item in value]
    if not isinstance(value, dict):
        return value
    kept: Record = {}
    for key, item in value.items():
        if _is_connection_value(item):
            for child in _connection_nodes(item):
                children.extend(flatten(child, value.get("id")))
        else:
            kept[key] = _detach(item, children)
    return kept


class BulkOperations:
    """The bulk query operations of every shop, their writer threads and their files."""

    def __init__(self, store: ShopifyStore, directory: Path, file_url: Callable[[BulkOperation], str]) -> None:
        self.store = store
        self.directory = Path(directory)
        self.file_url = file_url
        self.operations: dict[int, BulkOperation] = {}
        self._latest: dict[str, BulkOperation] = {}
        self._numbers = itertools.count(4_100_000_001)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- the API ------------------------------------------------------------------------------

    def start(self, shop_id: str, query: str) -> Record:
        """`bulkOperationRunQuery`: check the query, choose the orders, start writing; the payload to answer."""
        with self._lock:
            running = self._latest.get(shop_id)
            if running is not None and running.in_progress:
                return _user_error(f"A bulk query operation for this app and shop is already in progress: "
                                   f"{running.gid}.", "OPERATION_IN_PROGRESS")
            try:
                document, orders_field = self._check(query)
                lines = self._chosen_lines(shop_id, orders_field)
            except (GraphQLError, SearchSyntaxError) as error:
                return _user_error(f"Invalid bulk query: {error.message if isinstance(error, GraphQLError) else error}")
            number = next(self._numbers)
            operation = BulkOperation(number, shop_id, query, self.directory / f"bulk-{number}.jsonl")
            self.operations[number] = operation
            self._latest[shop_id] = operation
        thread = threading.Thread(target=self._write, args=(operation, document, lines),
                                  name=f"shopify-bulk-{number}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return {"bulkOperation": self.view(operation), "userErrors": []}

    def current(self, shop_id: str) -> Record | None:
        """`currentBulkOperation`: the shop's latest operation; each poll may move it on."""
        with self._lock:
            operation = self._latest.get(shop_id)
            if operation is None:
                return None
            if operation.status == "CREATED":
                operation.status = "RUNNING"
            elif operation.status == "RUNNING" and operation.finished.is_set():
                operation.status = operation.outcome or "FAILED"
            return self.view(operation)

    def view(self, operation: BulkOperation) -> Record:
        done = operation.status == "COMPLETED"
        return {"id": operation.gid, "status": operation.status, "errorCode": operation.error_code,
                "objectCount": operation.object_count, "rootObjectCount": operation.root_object_count,
                "fileSize": operation.file_size if done else None,
                "url": self.file_url(operation) if done and operation.object_count else None,
                "partialDataUrl": None, "createdAt": operation.created_at,
                "completedAt": operation.completed_at if done else None, "query": operation.query, "type": "QUERY"}

    def result_file(self, number: int, signature: str) -> BulkOperation | None:
        """The operation whose finished file a signed URL names, or None (wrong signature, unknown, unfinished)."""
        operation = self.operations.get(number)
        if operation is None or not secrets.compare_digest(operation.signature, signature):
            return None
        return operation if operation.status == "COMPLETED" else None

    def stop(self) -> None:
        """Stop every writer thread (each finishes its current chunk) and wait for them."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=30)

    # -- inside --------------------------------------------------------------------------------

    def _check(self, query: str) -> tuple[DocumentNode, FieldNode]:
        """The parsed query and its `orders` field, or a GraphQLError saying what Shopify would refuse."""
        document = parse(query)
        errors = validate(admin_schema(), document)
        if errors:
            raise GraphQLError("; ".join(error.message for error in errors))
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
            raise GraphQLError("a bulk query holds exactly one query operation")
        roots = _field_nodes(operations[0])
        if len(roots) != 1 or roots[0].name.value != "orders":
            raise GraphQLError("Bulk queries must contain at least one connection (here: exactly one `orders` field).")
        order_type = admin_schema().type_map["Order"]
        assert isinstance(order_type, GraphQLObjectType)
        for part in _field_nodes(roots[0]):
            nodes = [n for n in _field_nodes(part) if n.name.value == "node"] if part.name.value == "edges" \
                else [part] if part.name.value == "nodes" else []
            for node in nodes:
                missing = sorted(set(_connections_without_id(order_type, node)))
                if missing:
                    raise GraphQLError("The parent 'node' field for a nested connection must select the 'id' field "
                                       f"without an alias (connections: {', '.join(missing)}).")
        return document, roots[0]

    def _chosen_lines(self, shop_id: str, orders_field: FieldNode) -> list[bytes]:
        arguments = {a.name.value: value_from_ast_untyped(a.value) for a in orders_field.arguments or ()}
        search = parse_search(arguments.get("query"))
        rows, _ = self.store.select(shop_id, search, arguments.get("sortKey") or "ID",
                                    reverse=bool(arguments.get("reverse")))
        return [row.line for row in rows]

    def _write(self, operation: BulkOperation, document: DocumentNode, lines: list[bytes]) -> None:
        try:
            with operation.path.open("w", encoding="utf-8") as out:
                for start in range(0, len(lines), CHUNK_SIZE):
                    if self._stopping.is_set():
                        raise RuntimeError("stand-in stopped")
                    chunk = lines[start:start + CHUNK_SIZE]
                    context = RequestContext(self.store, operation.shop_id, bulk_lines=chunk)
                    result = execute_sync(admin_schema(), document, context_value=context)
                    if result.errors:
                        raise RuntimeError("; ".join(error.message for error in result.errors))
                    assert result.data is not None
                    connection = next(iter(result.data.values()))
                    for node in _connection_nodes(connection):
                        for line in flatten(node):
                            out.write(dumps_exact(line) + "\n")
                            operation.object_count += 1
                        operation.root_object_count += 1
            operation.file_size = operation.path.stat().st_size
            operation.completed_at = _now()
            operation.outcome = "COMPLETED"
        except Exception:  # any failure is the operation's FAILED status, as in Shopify
            operation.error_code = "INTERNAL_SERVER_ERROR"
            operation.outcome = "FAILED"
        finally:
            operation.finished.set()
