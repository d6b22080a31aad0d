"""A row's exact text as PostgreSQL's row constructor writes it (`row(...)::text`), written in Python.

Check 4 hashes each customer's derived detail the way the server hashes the
mart's (`fingerprint.customer_digests`) and compares the digests. The text is
exact: PostgreSQL reads each text back as the value it was written from
(amounts in plain decimal notation at their scale, text quoted where
PostgreSQL quotes it, nulls empty), and the server's own text reads back as
the mart's value. So equal texts are equal values and equal digests equal
rows. A value written otherwise than the server writes it (an amount held as
1.1 where the mart has 1.10) can only make the digests differ: that
customer's rows are then read and compared figure by figure, which finds them
equal.

Only the types the detail tables hold are written: text, date, numeric,
boolean and text arrays. Anything else is a TypeError, never a guess.
"""
from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

# record_out quotes a field that is empty or holds one of these (C's isspace, in the "C" sense).
_QUOTED_IN_ROW = frozenset('"\\(),' + " \t\n\r\v\f")
# array_out quotes an element that is empty, NULL in any case, or holds one of these.
_QUOTED_IN_ARRAY = frozenset('"\\{},' + " \t\n\r\v\f")
# The fields' texts are kept while they repeat (a customer's name, a month, an amount); past this many per
# column they are let go, so memory does not grow with the org.
TEXTS_KEPT = 10_000


def value_text(value: object) -> str | None:
    """A value's output text as PostgreSQL writes it (None: null)."""
    if value is None:
        return None
    try:
        return _TEXT_OF[type(value)](value)
    except KeyError:
        raise TypeError(f"no PostgreSQL text for a {type(value).__name__}: {value!r}") from None


def _array_text(values: list) -> str:
    return "{" + ",".join(map(_array_element, values)) + "}"


def _numeric_text(value: Decimal) -> str:
    """numeric_out: plain notation, as many decimals as the value's scale."""
    if not value.is_finite():
        raise TypeError(f"no exact text for the amount {value}")
    return format(value, "f")


_TEXT_OF = {
    str: str,
    bool: lambda value: "t" if value else "f",
    Decimal: _numeric_text,
    date: date.isoformat,
    list: _array_text,
}


def _array_element(value: object) -> str:
    text = value_text(value)
    if text is None:
        return "NULL"
    if text == "" or text.upper() == "NULL" or not _QUOTED_IN_ARRAY.isdisjoint(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def field_text(value: object) -> str:
    """A value as a field of a row's text: nothing for null, quoted (quotes and backslashes doubled) where the
    server quotes it."""
    text = value_text(value)
    if text is None:
        return ""
    if text == "" or not _QUOTED_IN_ROW.isdisjoint(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'
    return text


class _FieldTexts(dict):
    """One column's field texts, made once per distinct value."""

    def __missing__(self, value: object) -> str:
        if len(self) >= TEXTS_KEPT:
            self.clear()
        text = self[value] = field_text(value)
        return text


class RowTexts:
    """Rows of one table as the server writes them, for rows given as tuples in the table's column order.

    A column's texts are kept by value, and a value met again is written with the text kept for it. Equal values
    may differ in their text (1.1 and 1.10), but the kept text denotes an equal value, so equal texts still mean
    equal values; only the first of them is checked for its type. Each column keeps its own, so a boolean and an
    amount equal to it (True and 1) never share one. Arrays (unhashable) are written each time.
    """

    def __init__(self, array_columns: Sequence[bool]) -> None:
        self._texts = [_FieldTexts() for _ in array_columns]
        self._writers = [field_text if is_array else texts.__getitem__
                         for is_array, texts in zip(array_columns, self._texts)] if any(array_columns) else None

    def row_text(self, values: Sequence[object]) -> str:
        """One row's text: its fields, separated by commas, in parentheses."""
        if len(values) != len(self._texts):
            raise ValueError(f"a row of {len(values)} values for {len(self._texts)} columns: {values!r}")
        if self._writers:
            return "(" + ",".join(map(operator.call, self._writers, values)) + ")"
        # No array column: each field is a lookup of its column's kept text, map and dict both in C.
        return "(" + ",".join(map(dict.__getitem__, self._texts, values)) + ")"

    def digest(self, rows: Iterable[Sequence[object]]) -> bytes:
        """SHA-256 of the rows' texts, one per line, as `fingerprint.customer_digests` hashes a customer's rows
        (the rows in key order)."""
        return hashlib.sha256("\n".join(map(self.row_text, rows)).encode()).digest()
