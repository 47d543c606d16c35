"""Query-string filters and pagination, the way Unleashed reads them.

- Parameter names are matched case-insensitively (ASP.NET model binding; the docs themselves mix
  ``productCode`` and ``ProductBarcode``, https://apidocs.unleashedsoftware.com/Products) [I].
- Code and name filters are prefix ("starts with") matches, case-insensitive [I]
  (https://apidocs.unleashedsoftware.com/Products).
- Multi-valued filters are comma-separated in one parameter (https://apidocs.unleashedsoftware.com/Products).
- Pages: ``pageSize`` default 200, minimum 1, maximum 1000; ``pageSize=0`` is "count only" where
  a resource allows it (Invoices, https://apidocs.unleashedsoftware.com/Pagination). Bigger sizes are capped at 1000
  rather than refused [I].
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl

from .errors import UnleashedError
from .wire import end_of_filter_date, parse_filter_date

DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000


class Query:
    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._values: dict[str, str] = {}
        for key, value in parse_qsl(raw, keep_blank_values=True):
            self._values[key.lower()] = value

    def get(self, name: str) -> str | None:
        value = self._values.get(name.lower())
        return value if value not in (None, "") else None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if value.lower() in {"true", "1", "yes"}:
            return True
        if value.lower() in {"false", "0", "no"}:
            return False
        raise UnleashedError(400, f"{name} must be true or false, got '{value}'.", field=name)

    def csv(self, name: str) -> list[str] | None:
        value = self.get(name)
        if value is None:
            return None
        return [part.strip() for part in value.split(",") if part.strip()]

    def date(self, name: str) -> datetime | None:
        value = self.get(name)
        return None if value is None else parse_filter_date(name, value)

    def date_upper(self, name: str) -> datetime | None:
        """An "on or before" bound; a bare date includes that whole day."""
        value = self.get(name)
        return None if value is None else end_of_filter_date(value, parse_filter_date(name, value))

    def page_size(self, *, allow_zero: bool = False) -> int:
        value = self.get("pageSize")
        if value is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(value)
        except ValueError:
            raise UnleashedError(400, f"pageSize must be a whole number, got '{value}'.", field="pageSize") from None
        if size == 0 and allow_zero:
            return 0
        if size < 1:
            raise UnleashedError(400, "pageSize must be between 1 and 1000.", field="pageSize")
        return min(size, MAX_PAGE_SIZE)


def starts_with(value: Any, prefix: str | None) -> bool:
    return prefix is None or str(value or "").upper().startswith(prefix.upper())


def modified_since(record_time: datetime | None, since: datetime | None) -> bool:
    # https://apidocs.unleashedsoftware.com/SalesOrders: modifiedSince = created or modified since (LastModifiedOn
    # is set on creation too).
    return since is None or (record_time is not None and record_time >= since)


def in_guid_list(guid: str, wanted: list[str] | None) -> bool:
    return wanted is None or guid.lower() in {w.lower() for w in wanted}


class Lazy(Sequence[Any]):
    """Matching rows, each rendered only when a page slices it out: a list request renders one
    page, not every match (rendering 20,000 products to answer with 1,000 made a page take
    seconds)."""

    def __init__(self, rows: Sequence[Any], render: Callable[[Any], Any]) -> None:
        self._rows = rows
        self._render = render

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._render(row) for row in self._rows[index]]
        return self._render(self._rows[index])


def paginate(items: Sequence[Any], page: int, page_size: int) -> dict[str, Any]:
    """The ``Pagination`` + ``Items`` envelope (https://apidocs.unleashedsoftware.com/Pagination)."""
    total = len(items)
    if page_size == 0:
        # https://apidocs.unleashedsoftware.com/Pagination (Invoices tip): pageSize=0 returns just the count.
        return {"Pagination": {"NumberOfItems": total, "PageSize": 0, "PageNumber": page, "NumberOfPages": 0}, "Items": []}
    pages = math.ceil(total / page_size)
    start = (page - 1) * page_size
    return {
        "Pagination": {"NumberOfItems": total, "PageSize": page_size, "PageNumber": page, "NumberOfPages": pages},
        "Items": list(items[start : start + page_size]),
    }
