"""Exact JSON for money: numbers parse to Decimal and serialise back digit for digit.

The standard library's encoder cannot write a Decimal as a JSON number, and a
float in between would change the digits, so the small encoder below writes
Decimals with their own text.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _string
from typing import Any

_LITERALS = {None: "null", True: "true", False: "false"}


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (a number must be finite)")


def loads_exact(text: str | bytes) -> Any:
    """Parse JSON with every number as a Decimal (integers included); NaN and Infinity are refused."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_not_a_number)


def amounts_as_text(value: Any) -> Any:
    """A copy for a JSON encoder that knows no Decimal: every Decimal (and date) inside becomes its exact text."""
    if isinstance(value, dict):
        return {k: amounts_as_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [amounts_as_text(v) for v in value]
    if isinstance(value, (Decimal, date)):
        return str(value)
    return value


def dumps_exact(value: Any) -> str:
    """Serialise JSON values, writing Decimals as JSON numbers with their exact digits (as json.dumps would
    write everything else; the commonest kinds are tested first: this runs once per raw record)."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ",".join([_string(str(k)) + ":" + dumps_exact(v) for k, v in value.items()]) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([dumps_exact(v) for v in value]) + "]"
    if value is None or value is True or value is False:
        return _LITERALS[value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed on the money path; use Decimal")
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value)
