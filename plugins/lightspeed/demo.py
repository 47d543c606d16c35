"""Lightspeed's part of ``tillbridge demo``: a product Unleashed must refuse, and a day of tills."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .emulator.store import iso

# Unleashed limits ProductCode to 100 characters (https://apidocs.unleashedsoftware.com/Products).
TOO_LONG_CODE = "HAMPER-" + "DELUXE" * 19  # 121 characters: Lightspeed takes it, Unleashed refuses it


#: Past days of till sales the "history" stage rings up, and sales per outlet per day.
HISTORY_DAYS = 3
HISTORY_SALES = 3


def play(ls: Any, stage: str) -> None:
    outlets = ls.outlets()
    products = [p for p in ls.products() if p.get("has_inventory", True) and not p.get("deleted_at")]
    customers = ls.customers()
    if stage == "history":
        ring_up_history(ls, outlets, products, customers)
    elif stage == "seeded":
        ls.create_product("Deluxe gift hamper", TOO_LONG_CODE, Decimal("99.00"))
        for i, outlet in enumerate(outlets):
            a, b = products[(2 * i) % len(products)], products[(2 * i + 1) % len(products)]
            customer = customers[i % len(customers)]["id"] if customers else None
            sold = ls.ring_up_sale(outlet["id"], [_line(a, 2), _line(b, 1)], customer_id=customer)
            ls.ring_up_sale(outlet["id"], [_line(b, 1)])  # a walk-in sale: no customer
            ls.ring_up_sale(outlet["id"], [_line(a, 1, discount=Decimal("1.00"))], customer_id=customer)
            voided = ls.ring_up_sale(outlet["id"], [_line(a, 1)], customer_id=customer)
            ls.void_sale(voided["id"])
            if i == 0:
                ls.return_sale(sold["id"])
    elif stage == "imported":
        for i, outlet in enumerate(outlets):
            product = products[(5 + i) % len(products)]
            ls.ring_up_sale(outlet["id"], [_line(product, 1)])


def _line(product: dict[str, Any], quantity: int, discount: Decimal | None = None) -> dict[str, Any]:
    line = {"product_id": product["id"], "quantity": Decimal(quantity),
            "price": Decimal(str(product.get("price_excluding_tax") or "10"))}
    if discount is not None:
        line["discount"] = discount
    return line


def ring_up_history(ls: Any, outlets: list[dict[str, Any]], products: list[dict[str, Any]],
                    customers: list[dict[str, Any]]) -> None:
    """A few closed sales on each outlet on each of the last ``HISTORY_DAYS`` days, oldest first,
    dated in the past (as a till that has traded for a while), so "import sales since a date" and
    the daily reconciliation have days to show. Each sale is in trading hours of its day in the
    outlet's own time zone (from 10:00), so "yesterday" holds every outlet's sales whatever the
    hour the demo starts."""
    if not products:
        return
    now = ls.store.clock.now()
    n = 0
    with ls.lock:
        for days_ago in range(HISTORY_DAYS, 0, -1):
            for i, outlet in enumerate(outlets):
                for j in range(HISTORY_SALES):
                    n += 1
                    zone = ZoneInfo(outlet.get("time_zone") or "UTC")
                    day = now.astimezone(zone).date() - timedelta(days=days_ago)
                    local = datetime.combine(day, time(10 + 2 * j, 5 * i), tzinfo=zone)
                    when = iso(local.astimezone(timezone.utc))
                    lines = [_line(products[(3 * n) % len(products)], 1 + j % 2),
                             _line(products[(3 * n + 1) % len(products)], 1)]
                    customer = customers[n % len(customers)]["id"] if customers and n % 3 else None
                    ls.store.ring_up_sale(outlet["id"], lines, customer_id=customer, sale_date=when, created_at=when)
