"""Query cost as Shopify calculates it for its leaky-bucket throttle.

Shopify's rules (shopify.dev, "GraphQL Admin API rate limits"): a scalar or
enum costs 0, an object 1, a connection 2 plus its page size times the cost of
one node, a mutation 10. The requested cost is worked out from the query before
it runs (from `first`); the actual cost from what came back (the nodes
returned), and the difference goes back into the bucket. A list of objects
that is not a connection is priced as one object when requested and per
element when returned, which is close enough for a stand-in.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

MUTATION_COST = 10

Fragments = dict[str, FragmentDefinitionNode]


def operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the named one, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        return next((o for o in operations if o.name and o.name.value == operation_name), None)
    return operations[0] if len(operations) == 1 else None


def _fragments(document: DocumentNode) -> Fragments:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _fields(selection_set: SelectionSetNode | None, fragments: Fragments) -> Iterator[FieldNode]:
    """The fields of a selection set with fragments spread in (the schema has no interfaces or unions)."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            yield from _fields(fragments[selection.name.value].selection_set, fragments)


def _first(field_node: FieldNode, variables: dict[str, Any]) -> int:
    for argument in field_node.arguments or ():
        if argument.name.value != "first":
            continue
        if isinstance(argument.value, IntValueNode):
            return int(argument.value.value)
        if isinstance(argument.value, VariableNode):
            value = variables.get(argument.value.name.value)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0
    return 0


def _is_connection(object_type: Any) -> bool:
    return isinstance(object_type, GraphQLObjectType) and object_type.name.endswith("Connection")


def _node_type(connection: GraphQLObjectType) -> GraphQLObjectType:
    return get_named_type(connection.fields["nodes"].type)  # type: ignore[return-value]


def _node_selections(field_node: FieldNode, fragments: Fragments) -> Iterator[tuple[str, FieldNode | None, FieldNode]]:
    """(key of edges or nodes, key of node inside edges or None, the node's field) for each way nodes are asked for."""
    for part in _fields(field_node.selection_set, fragments):
        if part.name.value == "nodes":
            yield (part.alias or part.name).value, None, part
        elif part.name.value == "edges":
            for inner in _fields(part.selection_set, fragments):
                if inner.name.value == "node":
                    yield (part.alias or part.name).value, inner, inner


def _requested_field(parent: GraphQLObjectType, field_node: FieldNode, fragments: Fragments,
                     variables: dict[str, Any]) -> int:
    name = field_node.name.value
    if name.startswith("__") or name not in parent.fields:
        return 0
    named = get_named_type(parent.fields[name].type)
    if is_leaf_type(named):
        return 0
    assert isinstance(named, GraphQLObjectType)
    if _is_connection(named):
        node_type = _node_type(named)
        node_cost = 1 + sum(_requested_selection(node_type, node, fragments, variables)
                            for _, _, node in _node_selections(field_node, fragments))
        return 2 + _first(field_node, variables) * node_cost
    return 1 + _requested_selection(named, field_node, fragments, variables)


def _requested_selection(parent: GraphQLObjectType, field_node: FieldNode, fragments: Fragments,
                         variables: dict[str, Any]) -> int:
    return sum(_requested_field(parent, child, fragments, variables)
               for child in _fields(field_node.selection_set, fragments))


def requested_cost(schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any],
                   operation_name: str | None = None) -> int:
    """The cost of a validated query before it runs: the points it must find in the bucket."""
    chosen = operation(document, operation_name)
    if chosen is None:
        return 0
    roots = list(_fields(chosen.selection_set, _fragments(document)))
    if chosen.operation == OperationType.MUTATION:
        return MUTATION_COST * len(roots)
    assert schema.query_type is not None
    return sum(_requested_field(schema.query_type, root, _fragments(document), variables) for root in roots)


def _actual_field(parent: GraphQLObjectType, field_node: FieldNode, value: Any, fragments: Fragments) -> int:
    name = field_node.name.value
    if value is None or name.startswith("__") or name not in parent.fields:
        return 0
    named = get_named_type(parent.fields[name].type)
    if is_leaf_type(named):
        return 0
    assert isinstance(named, GraphQLObjectType)
    if _is_connection(named):
        node_type = _node_type(named)
        cost = 2
        for key, inner, node_field in _node_selections(field_node, fragments):
            nodes = [(edge or {}).get((inner.alias or inner.name).value) for edge in value.get(key) or []] \
                if inner else value.get(key) or []
            cost += sum(1 + _actual_selection(node_type, node_field, node, fragments) for node in nodes if node)
        return cost
    if isinstance(value, list):
        return sum(1 + _actual_selection(named, field_node, element, fragments) for element in value if element)
    return 1 + _actual_selection(named, field_node, value, fragments)


def _actual_selection(parent: GraphQLObjectType, field_node: FieldNode, value: dict[str, Any],
                      fragments: Fragments) -> int:
    return sum(_actual_field(parent, child, value.get((child.alias or child.name).value), fragments)
               for child in _fields(field_node.selection_set, fragments))


def actual_cost(schema: GraphQLSchema, document: DocumentNode, data: dict[str, Any] | None,
                operation_name: str | None = None) -> int:
    """The cost of what a query returned; a query that returned nothing costs nothing."""
    chosen = operation(document, operation_name)
    if chosen is None or data is None:
        return 0
    roots = list(_fields(chosen.selection_set, _fragments(document)))
    if chosen.operation == OperationType.MUTATION:
        return MUTATION_COST * len(roots)
    assert schema.query_type is not None
    return sum(_actual_field(schema.query_type, root, data.get((root.alias or root.name).value),
                             _fragments(document)) for root in roots)
