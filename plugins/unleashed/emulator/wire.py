"""Unleashed wire formats: ``/Date(ms)/`` dates, decimals as JSON numbers, request-date parsing.

State holds Python values (``datetime`` in UTC, ``Decimal``); only the HTTP layer turns them into
the wire form, so the Python API and the HTTP API always agree.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import UnleashedError

_NET_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?$")

CENT = Decimal("0.01")


def utc_ms(moment: datetime) -> datetime:
    """Truncate to whole milliseconds: that is all ``/Date(ms)/`` can carry."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def net_date(moment: datetime | None) -> str | None:
    """``datetime`` -> ``"/Date(1586833770780)/"`` (https://apidocs.unleashedsoftware.com/SalesOrders, UTC)."""
    if moment is None:
        return None
    return f"/Date({int(round(moment.timestamp() * 1000))})/"


def parse_net_date(text: str) -> datetime | None:
    match = _NET_DATE.match(text.strip())
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc)


def _parse_iso(text: str) -> datetime:
    # Up to 7 fractional digits (.NET ticks); Python takes at most 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip())
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        # https://apidocs.unleashedsoftware.com/SalesOrders: dates without a zone are UTC.
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_filter_date(name: str, text: str) -> datetime:
    """A query-string date: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS(.fff)``, UTC
    (https://apidocs.unleashedsoftware.com/SalesOrders)."""
    value = text.strip()
    if _DATE_ONLY.match(value) or _DATE_TIME.match(value):
        try:
            return _parse_iso(value)
        except ValueError:
            pass
    raise UnleashedError(400, f"Invalid date for {name}: '{text}'. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC).", field=name)


def end_of_filter_date(text: str, moment: datetime) -> datetime:
    """A date-only upper bound covers the whole day."""
    return moment + timedelta(days=1) if _DATE_ONLY.match(text.strip()) else moment


def parse_body_date(name: str, value: Any) -> datetime | None:
    """A request-body date: ISO string or ``/Date(ms)/`` (https://apidocs.unleashedsoftware.com/SalesOrders)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # a stored value re-applied on update
        return value
    if isinstance(value, str):
        net = parse_net_date(value)
        if net is not None:
            return net
        if _DATE_ONLY.match(value.strip()) or _DATE_TIME.match(value.strip()):
            try:
                return _parse_iso(value)
            except ValueError:
                pass
    raise UnleashedError(400, f"Invalid date for {name}: {value!r}.", field=name)


def parse_decimal(name: str, value: Any, *, default: Decimal | None = None) -> Decimal | None:
    """A JSON number (or numeric string) as ``Decimal``; ``None``/absent gives ``default``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise UnleashedError(400, f"{name} must be a number.", field=name)
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise UnleashedError(400, f"{name} must be a number, got {value!r}.", field=name) from None
    if not result.is_finite():
        raise UnleashedError(400, f"{name} must be a finite number.", field=name)
    return result


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_wire(value: Any) -> Any:
    """Python state -> JSON-ready values (dates as ``/Date(ms)/``, decimals as numbers)."""
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, datetime):
        return net_date(value)
    if isinstance(value, Decimal):
        # The real API serialises decimals as JSON numbers (e.g. 69.0, 0.15): an int when whole
        # would lose the ".0" some clients type-check, so floats throughout.
        return float(value)
    return value


def dumps(value: Any) -> bytes:
    return json.dumps(to_wire(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
