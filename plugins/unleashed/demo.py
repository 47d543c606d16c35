"""Unleashed's part of ``tillbridge demo``: stock arrives once the products exist."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

#: Orders dated this long before "now" are past days' (the "history" stage's) sales.
PAST = timedelta(hours=12)


def play(ul: Any, stage: str) -> None:
    if stage != "imported":
        return
    # After the first import (which took in the POS's opening stock), more stock is received
    # into every warehouse, except for the first product, so a sale of it can stay short.
    warehouses = ul.warehouses()
    products = [p for p in ul.products() if p.get("ProductCode") != "DISCOUNT" and not p.get("IsAssembledProduct")
                and not p.get("NeverDiminishing")]
    for i, product in enumerate(products):
        for warehouse in warehouses:
            if i == 0:
                continue
            ul.receive_stock(product["Guid"], warehouse["Guid"], Decimal(10 + (i % 7)))
    complete_past_orders(ul)


def complete_past_orders(ul: Any) -> None:
    """The opening stock has arrived: the back office completes the orders of past days' sales
    that were parked for want of it (today's parked ones stay, for the demo to show)."""
    before = ul.clock.now() - PAST
    for order in ul.sales_orders():
        when = order.get("OrderDate")
        if isinstance(when, str):
            when = datetime.fromisoformat(when.replace("Z", "+00:00"))
        if isinstance(when, datetime) and when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if order.get("OrderStatus") == "Parked" and isinstance(when, datetime) and when < before:
            ul.complete_order(order["Guid"])
