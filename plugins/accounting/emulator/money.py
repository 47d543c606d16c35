"""Decimal helpers: money stays Decimal inside the emulators and is rounded the way ledgers do."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal | None:
    """A JSON number or numeric string as Decimal; None when absent; ValueError when not a number."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return result


def round_to(value: Decimal, places: int) -> Decimal:
    # Half away from zero: what Xero and QuickBooks show for a half cent. Neither documents its
    # rounding mode; banker's rounding would differ only on exact half cents.
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return round_to(value, 2)
