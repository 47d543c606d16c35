"""Unleashed's part of the daily reconciliation (hook ``fetch_dated``): the orders of one day.

``GET /SalesOrders/{page}`` filters by order date with ``startDate``/``endDate`` (Unleashed API
docs, https://apidocs.unleashedsoftware.com/SalesOrders). The order of a POS sale carries the
sale's date as its ``OrderDate`` and the sale number as ``CustomerRef``, so one day's orders are
a few pages at most. Deleted orders are not listed (the API leaves them out unless asked).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence

from tillbridge import DatedRecord

from . import convert
from .wire import last_page


def orders_of_day(connector: Any, start: datetime, end: datetime, references: Sequence[str]) -> list[DatedRecord]:
    """The orders dated in [start, end) whose CustomerRef is one of ``references`` (every order
    with a CustomerRef when none are given)."""
    wanted = set(references)
    out: list[DatedRecord] = []
    page = 1
    while True:
        body = connector._get(f"/SalesOrders/{page}", startDate=convert.wire_date(start),
                              endDate=convert.wire_date(end), pageSize=connector.max_page_size)
        for order in body.get("Items") or []:
            ref = str(order.get("CustomerRef") or "")
            when = convert.when(order.get("OrderDate"))
            if not ref or (wanted and ref not in wanted) or (when is not None and not start <= when < end):
                continue
            out.append(DatedRecord(
                id=str(order.get("Guid")), number=str(order.get("OrderNumber") or order.get("Guid")), sale_number=ref,
                total=Decimal(str(order.get("Total") or 0)), status=str(order.get("OrderStatus") or "").lower(),
                location_id=(order.get("Warehouse") or {}).get("Guid"), when=when))
        if last_page(body, page):
            return out
        page += 1
