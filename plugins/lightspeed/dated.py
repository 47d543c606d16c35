"""Lightspeed's part of the daily reconciliation (hook ``fetch_dated``): the sales of one day.

The search endpoint filters sales by ``date_from``/``date_to`` (UTC, notes on
https://x-series-api.lightspeedhq.com/reference/search); it pages by ``offset`` up to 1,000
sales a page. ``date_to`` is taken to be inclusive, so the window's end is filtered again here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tillbridge import DatedRecord

from . import convert

SEARCH_PAGE = 1000


def _wire(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sales_of_day(connector: Any, start: datetime, end: datetime) -> list[DatedRecord]:
    """Every sale dated in [start, end): closed, voided, returns and open ones (status says which)."""
    found: dict[str, DatedRecord] = {}
    discount = connector.discount_product_id()  # its quantity -1 lines are discounts, not returns
    offset = 0
    while True:
        body = connector._get("/api/2.0/search", type="sales", date_from=_wire(start),
                              date_to=_wire(end - timedelta(seconds=1)), order_by="sale_date",
                              order_direction="asc", page_size=SEARCH_PAGE, offset=offset)
        rows = body.get("data") or []
        for row in rows:
            record = _record(row, discount)
            if record.when is None or start <= record.when < end:
                found[record.id] = record
        if len(rows) < SEARCH_PAGE:
            return list(found.values())
        offset += len(rows)


def _record(row: dict[str, Any], discount: str) -> DatedRecord:
    status: str = convert.sale_status(row.get("status") or "")
    lines = row.get("line_items") or []
    if status == "closed" and (row.get("return_for") or any(
            ln.get("is_return") or convert.dec(ln.get("quantity")) < 0 for ln in lines
            if ln.get("status") != "VOIDED" and ln.get("product_id") != discount)):
        status = "return"
    total = convert.dec(row.get("total_price")) + convert.dec(row.get("total_tax"))
    return DatedRecord(id=row["id"], number=str(row.get("invoice_number") or row["id"]),
                       sale_number=str(row.get("invoice_number") or row["id"]), total=total, status=status,
                       location_id=row.get("outlet_id"),
                       when=convert.when(row.get("sale_date") or row.get("created_at")))


def retailer_time_zone(connector: Any) -> str | None:
    """The outlets' time zone (Lightspeed keeps one per outlet; a retailer's outlets share it in
    practice): the first outlet's that has one."""
    if "_time_zone" in connector.__dict__:  # asked once per connector (a page view asks twice)
        return connector.__dict__["_time_zone"]
    found = None
    for outlet in connector._get("/api/2.0/outlets").get("data") or []:
        if outlet.get("time_zone") and not outlet.get("deleted_at"):
            found = str(outlet["time_zone"])
            break
    connector.__dict__["_time_zone"] = found
    return found
