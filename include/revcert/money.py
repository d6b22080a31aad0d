"""Exact JSON for money: numbers parse to Decimal and serialise back digit for digit.

The standard library's encoder cannot write a Decimal as a JSON number, and a
float in between would change the digits, so the small encoder below writes
Decimals with their own text.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (a number must be finite)")


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON with every number as a Decimal (integers included); NaN and Infinity are refused."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_not_a_number)


def dumps_exact(value: Any) -> str:
    """Serialise JSON values, writing Decimals as JSON numbers with their exact digits."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps_exact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps_exact(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed on the money path; use Decimal")
    return json.dumps(value)
