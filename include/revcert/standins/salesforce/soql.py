"""The subset of SOQL this project sends, parsed and evaluated over snapshot records.

Supported: field lists, COUNT(), SUM(field), FROM, WHERE with AND/OR/NOT,
parentheses, = != <> < <= > >=, IN / NOT IN, string, number, boolean, null,
date and datetime literals, ORDER BY (ASC/DESC, NULLS FIRST/LAST) and LIMIT.
Errors carry Salesforce's error codes so clients see what a real org would say.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class SoqlError(Exception):
    """A query Salesforce would refuse, with its error code."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


_TOKEN = re.compile(r"""
    \s*(?:
      (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)

_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "ORDER", "BY", "ASC", "DESC", "LIMIT",
             "NULLS", "FIRST", "LAST", "TRUE", "FALSE", "NULL"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(soql: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(soql):
        if soql[position:].strip() == "":
            break
        match = _TOKEN.match(soql, position)
        if not match:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{soql[position:].strip().split()[0]}'")
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "word" and text.upper() in _KEYWORDS:
            kind, text = "keyword", text.upper()
        tokens.append(Token(kind, text))
        position = match.end()
    return tokens


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Membership:
    field: str
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR, NOT
    parts: tuple[Any, ...]


@dataclass
class Query:
    object_name: str
    fields: list[str] = field(default_factory=list)
    aggregates: list[tuple[str, str]] = field(default_factory=list)  # (function, field)
    is_count: bool = False
    where: Any = None
    order_by: list[tuple[str, bool, bool]] = field(default_factory=list)  # field, descending, nulls_last
    limit: int | None = None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, kind: str | None = None, text: str | None = None) -> Token:
        token = self.peek()
        if token is None or (kind and token.kind != kind) or (text and token.text != text):
            found = token.text if token else "end of query"
            expected = f", expected {text or kind}" if (text or kind) else ""
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{found}'{expected}")
        self.position += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> bool:
        token = self.peek()
        if token and token.kind == kind and (text is None or token.text == text):
            self.position += 1
            return True
        return False

    def parse(self) -> Query:
        self.take("keyword", "SELECT")
        items = [self.select_item()]
        while self.accept("punct", ","):
            items.append(self.select_item())
        self.take("keyword", "FROM")
        query = Query(object_name=self.take("word").text)
        for kind, value in items:
            if kind == "count":
                query.is_count = True
            elif kind == "aggregate":
                query.aggregates.append(value)
            else:
                query.fields.append(value)
        if query.is_count and (query.fields or query.aggregates):
            raise SoqlError("MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list")
        if query.aggregates and query.fields:
            raise SoqlError("MALFORMED_QUERY", "field must be grouped or aggregated")
        if self.accept("keyword", "WHERE"):
            query.where = self.disjunction()
        if self.accept("keyword", "ORDER"):
            self.take("keyword", "BY")
            query.order_by.append(self.order_item())
            while self.accept("punct", ","):
                query.order_by.append(self.order_item())
        if self.accept("keyword", "LIMIT"):
            query.limit = int(self.take("number").text)
        if self.peek() is not None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.peek().text}'")
        return query

    def select_item(self) -> tuple[str, Any]:
        name = self.take("word").text
        if self.accept("punct", "("):
            function = name.upper()
            if function == "COUNT" and self.accept("punct", ")"):
                return "count", None
            argument = self.take("word").text
            self.take("punct", ")")
            if function not in ("SUM", "COUNT", "MIN", "MAX"):
                raise SoqlError("MALFORMED_QUERY", f"unknown function: {name}")
            return "aggregate", (function, argument)
        return "field", name

    def order_item(self) -> tuple[str, bool, bool]:
        name = self.take("word").text
        descending = False
        if self.accept("keyword", "DESC"):
            descending = True
        else:
            self.accept("keyword", "ASC")
        nulls_last = descending
        if self.accept("keyword", "NULLS"):
            nulls_last = self.take("keyword").text == "LAST"
        return name, descending, nulls_last

    def disjunction(self) -> Any:
        parts = [self.conjunction()]
        while self.accept("keyword", "OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def conjunction(self) -> Any:
        parts = [self.negation()]
        while self.accept("keyword", "AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def negation(self) -> Any:
        if self.accept("keyword", "NOT"):
            return BoolOp("NOT", (self.negation(),))
        if self.accept("punct", "("):
            inner = self.disjunction()
            self.take("punct", ")")
            return inner
        return self.condition()

    def condition(self) -> Any:
        name = self.take("word").text
        if self.accept("keyword", "NOT"):
            self.take("keyword", "IN")
            return Membership(name, self.value_list(), negated=True)
        if self.accept("keyword", "IN"):
            return Membership(name, self.value_list(), negated=False)
        op = self.take("op").text
        return Comparison(name, "!=" if op == "<>" else op, self.literal())

    def value_list(self) -> tuple[Any, ...]:
        self.take("punct", "(")
        values = [self.literal()]
        while self.accept("punct", ","):
            values.append(self.literal())
        self.take("punct", ")")
        return tuple(values)

    def literal(self) -> Any:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query, expected a value")
        self.position += 1
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "date":
            return date.fromisoformat(token.text)
        if token.kind == "datetime":
            return parse_datetime(token.text)
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            return token.text == "TRUE"
        if token.kind == "keyword" and token.text == "NULL":
            return None
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token.text}', expected a value")


def parse_datetime(text: str) -> datetime:
    """Salesforce's datetimes (2026-10-31T23:52:37.000+0000, 2026-10-31T23:52:37Z): Python's own ISO 8601 reader
    takes both since 3.11. A filter on SystemModstamp reads every record's, so this is the stand-in's hot path."""
    return datetime.fromisoformat(text)


def parse(soql: str) -> Query:
    return _Parser(tokenize(soql)).parse()


def _converter(like: Any) -> Callable[[Any], Any]:
    """What brings a record's JSON value to the type of the literal it is compared with."""
    if isinstance(like, datetime):
        return parse_datetime
    if isinstance(like, date):
        return date.fromisoformat
    if isinstance(like, Decimal):
        return lambda value: value if isinstance(value, bool) else Decimal(value)
    return lambda value: value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def predicate(condition: Any, resolve: Callable[[str], str]) -> Callable[[dict[str, Any]], bool]:
    """A WHERE condition as a test of one record, its fields resolved and its literals' types read once: a query
    tests every record of its object."""
    if condition is None:
        return lambda record: True
    if isinstance(condition, BoolOp):
        parts = [predicate(part, resolve) for part in condition.parts]
        if condition.op == "AND":
            return lambda record: all(part(record) for part in parts)
        if condition.op == "OR":
            return lambda record: any(part(record) for part in parts)
        return lambda record: not parts[0](record)
    key = resolve(condition.field)
    if isinstance(condition, Membership):
        members, negated = [(_converter(v), v) for v in condition.values], condition.negated

        def is_member(record: dict[str, Any]) -> bool:
            value = record.get(key)
            if value is None:
                return (None in condition.values) != negated
            return any(convert(value) == member for convert, member in members) != negated
        return is_member
    literal, compare = condition.value, _COMPARE[condition.op]
    with_null = condition.op in ("=", "!=")  # a null compares only by equality
    if literal is None:
        return lambda record: with_null and compare(record.get(key), None)
    convert = _converter(literal)

    def compared(record: dict[str, Any]) -> bool:
        value = record.get(key)
        if value is None:
            return with_null and compare(value, literal)
        return compare(convert(value), literal)
    return compared


def matches(condition: Any, record: dict[str, Any], resolve: Callable[[str], str]) -> bool:
    return predicate(condition, resolve)(record)


def condition_fields(condition: Any) -> Iterable[str]:
    if isinstance(condition, BoolOp):
        for part in condition.parts:
            yield from condition_fields(part)
    elif condition is not None:
        yield condition.field
