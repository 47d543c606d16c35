"""Decimal helpers: money and quantities are Decimal inside, JSON numbers on the wire."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

ZERO = Decimal("0")
_FIVE_PLACES = Decimal("0.00001")
_CENTS = Decimal("0.01")


def to_decimal(value: Any, field: str = "value") -> Decimal:
    """Read a number sent by a client or a caller (int, float, str or Decimal)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field} must be a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{field} must be a number") from exc
    if not result.is_finite():
        raise ValueError(f"{field} must be a finite number")
    return result


def q5(value: Decimal) -> Decimal:
    """Lightspeed keeps prices to five decimals (e.g. ``price_excluding_tax: 2.63158`` in the spec)."""
    return value.quantize(_FIVE_PLACES, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS, rounding=ROUND_HALF_UP)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        # Whole numbers go out as JSON integers, as in the spec's examples ("inventory_level": 21).
        if obj == obj.to_integral_value():
            return int(obj)
        return float(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=_json_default, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def jsonable(obj: Any) -> Any:
    """The same value as plain JSON types (Decimal -> int/float), e.g. for webhook payloads."""
    return json.loads(dumps(obj))
