"""Request bodies as Lightspeed reads them: money and quantities as exact JSON numbers.

The 2.0/2.1 OpenAPI types prices and amounts as ``number`` (e.g. ``ProductCreateBody``
``price_excluding_tax``); a string there is refused. ``json.dumps`` cannot write a ``Decimal``
and going through ``float`` would turn 0.1 + 0.2 style values into 0.30000000000000004, so a
``Decimal`` is written as its own digits (``12.50`` → ``12.5``, ``3E+1`` → ``30``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def number(value: Decimal) -> str:
    """The JSON number text of a finite ``Decimal``: plain digits, no exponent, no trailing zeros."""
    if not value.is_finite():
        raise ValueError(f"{value} cannot be sent as a JSON number")
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text


def dumps(body: Any) -> bytes:
    """``body`` as compact JSON, ``Decimal`` values as exact numbers."""
    return _encode(body).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
