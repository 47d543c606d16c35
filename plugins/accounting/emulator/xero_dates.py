"""Xero's date formats.

Responses carry Microsoft JSON dates, ``/Date(1539993600000+0000)/``, with ISO "string twins"
(``DateString: 2018-10-20T00:00:00``); the envelope's ``DateTimeUTC`` has no offset
(``/Date(1552326816230)/``); requests may send ``YYYY-MM-DD`` (xero_accounting.yaml examples,
https://developer.xero.com/documentation/api/accounting/invoices).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from email.utils import parsedate_to_datetime

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.combine(value, time(0), tzinfo=timezone.utc)


def _millis(value: date | datetime) -> int:
    return int(round(_as_datetime(value).timestamp() * 1000))


def ms_date(value: date | datetime) -> str:
    """``/Date(ms+0000)/`` as used for Date, DueDate and UpdatedDateUTC."""
    return f"/Date({_millis(value)}+0000)/"


def ms_timestamp(value: datetime) -> str:
    """``/Date(ms)/`` as used for the envelope's DateTimeUTC."""
    return f"/Date({_millis(value)})/"


def date_string(value: date) -> str:
    return f"{value.isoformat()}T00:00:00"


def utc_string(value: datetime) -> str:
    return _as_datetime(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_timestamp(value: datetime) -> str:
    """Connection dates: UTC without an offset and seven fractional digits, as in the
    xero-identity.yaml example (``2019-12-07T18:46:19.5165400``)."""
    moment = _as_datetime(value).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0"


def parse_date(value: object) -> date:
    """A request date: ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS`` or a Microsoft JSON date."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc).date()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date: {value!r}") from exc


def parse_modified_since(value: str) -> datetime | None:
    """``If-Modified-Since``: Xero accepts ``yyyy-mm-ddThh:mm:ss`` (UTC) as well as HTTP dates."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
