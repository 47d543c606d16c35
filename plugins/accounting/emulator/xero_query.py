"""List-endpoint plumbing shared by Xero GETs: ``order``, ``page``/``pageSize``, comma lists."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Mapping, Sequence, TypeVar

from .xero_errors import query_parse_error
from .xero_where import _lookup

DEFAULT_PAGE_SIZE = 100  # spec: "page=1 – Up to 100 invoices will be returned"
MAX_PAGE_SIZE = 1000  # https://developer.xero.com/documentation/api/accounting/invoices: pageSize ≤ 1000 [secondary]
RecordT = TypeVar("RecordT", bound=Mapping[str, Any])


def comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float, Decimal)):
        return (2, Decimal(str(value)))
    if isinstance(value, datetime):
        return (3, value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return (3, datetime(value.year, value.month, value.day, tzinfo=timezone.utc))
    return (4, str(value).casefold())


def _path_value(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = _lookup(value, part)
    return value


def apply_order(records: list[RecordT], order: str | None) -> list[RecordT]:
    """``order=Date DESC, InvoiceNumber`` (spec: "Order by an any element")."""
    if not order or not order.strip():
        return records
    keys: list[tuple[str, bool]] = []
    for clause in order.split(","):
        words = clause.split()
        if not words or len(words) > 2:
            raise query_parse_error(f"Invalid order clause '{clause.strip()}'")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in {"ASC", "DESC"}:
            raise query_parse_error(f"Invalid order direction '{words[1]}'")
        keys.append((words[0], direction == "DESC"))
    result = list(records)
    for path, descending in reversed(keys):
        result.sort(key=lambda r: _sort_key(_path_value(r, path)), reverse=descending)  # sorts now: no late binding
    return result


def page_params(page_text: str | None, size_text: str | None) -> tuple[int | None, int]:
    page: int | None = None
    size = DEFAULT_PAGE_SIZE
    try:
        if page_text not in (None, ""):
            page = max(1, int(str(page_text)))
        if size_text not in (None, ""):
            size = min(MAX_PAGE_SIZE, max(1, int(str(size_text))))
    except ValueError as exc:
        raise query_parse_error("page and pageSize must be whole numbers") from exc
    return page, size


def paginate(items: Sequence[Any], page: int, size: int) -> tuple[list[Any], dict[str, int]]:
    count = len(items)
    start = (page - 1) * size
    return list(items[start:start + size]), {
        "page": page, "pageSize": size, "pageCount": math.ceil(count / size) if count else 0, "itemCount": count,
    }
