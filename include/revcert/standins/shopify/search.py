"""The subset of Shopify's search syntax the stand-in understands, for `orders(query:)` and `ordersCount`.

Terms compare an order field with a value, `updated_at:>='2026-11-20T00:00:00Z'`,
with the operators `>=`, `<=`, `>`, `<` or none (equals). Quotes are optional.
Terms join with `AND` (or a plain space) and `OR`; AND binds tighter, as in
Shopify. Datetimes need a UTC offset (`Z` or `+05:30`) so no term depends on
a timezone nobody named.

Real Shopify ignores what it cannot parse and answers with every order; the
stand-in refuses it instead, naming the field or text, so a typo in an
incremental filter fails a test rather than silently reading everything.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# Search field -> the order column it compares.
FIELDS = {"created_at": "created", "updated_at": "updated", "processed_at": "processed", "id": "id"}

COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "": operator.eq}

_TERM = re.compile(r"""(?P<field>[A-Za-z_]+):(?P<op><=|>=|<|>)?"""
                   r"""(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<bare>[^\s'"()]+))""")
_CONNECTIVE = re.compile(r"(AND|OR)(?=\s|$)")
_ORDER_GID = re.compile(r"gid://shopify/Order/(\d+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class SearchSyntaxError(ValueError):
    """A search string the stand-in does not support, with what it could not read."""


@dataclass(frozen=True)
class Term:
    """One comparison: `column` (see FIELDS) `operator` `value`; datetimes are microseconds since the epoch."""

    column: str
    operator: str
    value: int

    def holds(self, value: int) -> bool:
        return COMPARISONS[self.operator](value, self.value)


@dataclass(frozen=True)
class Search:
    """A parsed search: any of `alternatives` matches, each when all of its terms hold. No terms: every order."""

    alternatives: tuple[tuple[Term, ...], ...] = ()

    def matches(self, column_value: Callable[[str], int]) -> bool:
        if not self.alternatives:
            return True
        return any(all(term.holds(column_value(term.column)) for term in terms) for terms in self.alternatives)


def epoch_microseconds(text: str) -> int:
    """An ISO 8601 datetime with a UTC offset as microseconds since 1970-01-01T00:00:00Z.

    Raises:
        ValueError: Not a datetime, or one without an offset.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write it as 2026-11-20T00:00:00Z)")
    return (moment - _EPOCH) // _MICROSECOND


def order_number(order_id: str) -> int:
    """The number in an order GID (`gid://shopify/Order/123` -> 123); a bare number is taken as is.

    Raises:
        ValueError: Neither an order GID nor a number.
    """
    found = _ORDER_GID.fullmatch(order_id)
    if found:
        return int(found.group(1))
    if order_id.isdigit():
        return int(order_id)
    raise ValueError(f"{order_id!r} is not an order id")


def _term(found: re.Match[str]) -> Term:
    field = found.group("field")
    if field not in FIELDS:
        raise SearchSyntaxError(f"unsupported search field '{field}' (supported: {', '.join(sorted(FIELDS))})")
    text = next(v for v in (found.group("single"), found.group("double"), found.group("bare")) if v is not None)
    try:
        value = order_number(text) if field == "id" else epoch_microseconds(text)
    except ValueError as error:
        raise SearchSyntaxError(f"unsupported value for '{field}': {error}") from error
    return Term(FIELDS[field], found.group("op") or "", value)


def parse_search(text: str | None) -> Search:
    """Parse a search string into OR-ed groups of AND-ed terms.

    Raises:
        SearchSyntaxError: Naming the unsupported field, value or text and where it starts.
    """
    alternatives: list[tuple[Term, ...]] = []
    current: list[Term] = []
    expecting_term = False
    position, source = 0, (text or "").strip()
    while position < len(source):
        if source[position].isspace():
            position += 1
            continue
        connective = _CONNECTIVE.match(source, position)
        if connective:
            if not current or expecting_term:
                raise SearchSyntaxError(f"unsupported search syntax at {position}: '{connective.group(1)}' needs a "
                                        "term before it")
            if connective.group(1) == "OR":
                alternatives.append(tuple(current))
                current = []
            expecting_term, position = True, connective.end()
            continue
        found = _TERM.match(source, position)
        if not found:
            raise SearchSyntaxError(f"unsupported search syntax at {position}: {source[position:position + 40]!r}")
        current.append(_term(found))
        expecting_term, position = False, found.end()
    if expecting_term:
        raise SearchSyntaxError("unsupported search syntax: the search ends with AND or OR")
    if current:
        alternatives.append(tuple(current))
    return Search(tuple(alternatives))
