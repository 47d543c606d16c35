"""Lightspeed API 2.0 JSON ↔ canonical entities (shapes: shared/api-specs,
https://x-series-api.lightspeedhq.com/reference)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from tillbridge import Customer, Location, Product, Sale, SaleLine, SaleStatus, StockLevel, Tax, utc

# Sale statuses: https://x-series-api.lightspeedhq.com/docs/sales_statuses. Closed ones decrement
# inventory and are final.
CLOSED_STATUSES = frozenset({"CLOSED", "ONACCOUNT_CLOSED", "LAYBY_CLOSED", "DISPATCHED_CLOSED",
                             "PICKED_UP_CLOSED", "SERVICE_CLOSED"})
TAG = re.compile(r"<[^>]+>")


def dec(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    return Decimal(str(value))


def when(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if " " in text and "T" not in text:  # 0.9 style "2016-05-05 23:35:34" (UTC)
        text = text.replace(" ", "T")
    return utc(datetime.fromisoformat(text))


def plain(html: str | None) -> str | None:
    if not html:
        return None
    text = " ".join(TAG.sub(" ", html).split())
    return text or None


def product(data: dict[str, Any]) -> Product:
    name = data.get("name") or data.get("sku") or data["id"]
    variant = data.get("variant_name")
    description = variant if variant and variant != name and variant.startswith(name) else name
    if variant and not variant.startswith(name):
        description = f"{name} / {variant}"
    barcode = next((c.get("code") for c in data.get("product_codes") or []
                    if c.get("type") in {"EAN", "UPC", "JAN", "ISBN", "ITF"}), None)
    active = data.get("is_active", data.get("active", True))
    return Product(
        id=data["id"], code=data.get("sku") or "", description=description,
        sell_price=dec(data.get("price_excluding_tax")) if data.get("price_excluding_tax") is not None else None,
        cost_price=dec(data.get("supply_price")) if data.get("supply_price") is not None else None,
        notes=plain(data.get("description")), barcode=barcode,
        variant_parent_id=data.get("variant_parent_id") or None, variant_name=variant or None,
        tracks_inventory=tracks_inventory(data),
        obsolete=bool(data.get("deleted_at")) or active is False,
        updated_at=when(data.get("updated_at")),
    )


def tracks_inventory(data: dict[str, Any]) -> bool:
    """Does Lightspeed keep stock of this product itself?

    Not when ``has_inventory`` is false (OpenAPI ``Product.has_inventory``: "whether inventory
    is being tracked", the 0.9 ``track_inventory``; a service, a gift card), and not for a
    composite (``is_composite``): selling one takes stock of its components, it has none of its own.
    """
    return data.get("has_inventory", True) is not False and not data.get("is_composite")


def customer(data: dict[str, Any]) -> Customer:
    first, last = data.get("first_name") or "", data.get("last_name") or ""
    name = " ".join(p for p in (first, last) if p) or data.get("company_name") or data.get("name") \
        or data.get("customer_code") or data["id"]
    return Customer(
        id=data["id"], code=data.get("customer_code") or data["id"], name=name,
        first_name=first or None, last_name=last or None, email=data.get("email") or None,
        phone=data.get("phone") or data.get("mobile") or None, company_name=data.get("company_name") or None,
        obsolete=bool(data.get("deleted_at")), updated_at=when(data.get("updated_at")),
    )


def outlet(data: dict[str, Any]) -> Location:
    return Location(id=data["id"], kind="outlet", name=data.get("name") or data["id"], code=None,
                    updated_at=None)


def inventory(data: dict[str, Any]) -> StockLevel:
    """A 2.0 inventory record (https://x-series-api.lightspeedhq.com/reference: ``inventory_level`` =
    ``current_amount``, may be negative)."""
    level = dec(data.get("current_amount") if data.get("current_amount") is not None else data.get("inventory_level"))
    cost = data.get("average_cost")
    return StockLevel(id=data["id"], product_id=data["product_id"], location_id=data["outlet_id"],
                      on_hand=level, available=level, unit_cost=dec(cost) if cost is not None else None)


def taxes(data: dict[str, Any]) -> list[Tax]:
    """A 2.0 tax with its rates; each rate id is what sale lines point at."""
    out = [Tax(id=data["id"], code=data["id"], name=data.get("name") or data["id"],
               rate=sum((dec(r.get("rate")) for r in data.get("rates") or []), Decimal(0)))]
    for rate in data.get("rates") or []:
        if rate.get("id") and rate["id"] != data["id"]:
            out.append(Tax(id=rate["id"], code=rate["id"], name=rate.get("name") or data.get("name") or "",
                           rate=dec(rate.get("rate"))))
    return out


def sale_status(status: str) -> SaleStatus:
    if status in CLOSED_STATUSES:
        return "closed"
    if status == "VOIDED":
        return "voided"
    return "open"


def sale(data: dict[str, Any], tax_rates: dict[str, Decimal], skip_products: set[str] | None = None) -> Sale:
    """A 2.0 sale. Lines of ``skip_products`` (the discount product) stay out of ``lines``: their
    value is in the sale's totals, so the inventory side sees it as the sale's discount."""
    lines = []
    is_return = bool(data.get("return_for"))
    for item in data.get("line_items") or []:
        if item.get("status") == "VOIDED" or item.get("product_id") in (skip_products or ()):
            continue
        quantity = dec(item.get("quantity"))
        if item.get("is_return") or quantity < 0:
            is_return = True
        tax_total = dec(item.get("tax_total") if item.get("tax_total") is not None else item.get("total_tax"))
        rate = tax_rates.get(item.get("tax_id") or "")
        if rate is None:
            base = dec(item.get("price_total")) or dec(item.get("price")) * quantity
            rate = (tax_total / base).quantize(Decimal("0.0001")) if base else Decimal(0)
        # ``price`` is what was charged, after the unit ``discount``
        # (https://x-series-api.lightspeedhq.com/docs/sales_statuses; Vend's sale
        # payload explanation): the canonical line keeps the list price and the discount apart.
        discount = dec(item.get("discount"))
        lines.append(SaleLine(
            product_id=item["product_id"], quantity=quantity, unit_price=dec(item.get("price")) + discount,
            unit_discount=discount, tax_amount=tax_total, tax_rate=rate, tax_id=item.get("tax_id"),
        ))
    subtotal = dec(data.get("total_price"))
    tax_total = dec(data.get("total_tax"))
    return Sale(
        id=data["id"], number=str(data.get("invoice_number") or data["id"]), location_id=data["outlet_id"],
        status=sale_status(data.get("status") or ""), source_status=data.get("status"),
        sale_date=when(data.get("sale_date") or data.get("created_at")) or utc(datetime.now()),
        lines=tuple(lines), customer_id=data.get("customer_id") or None, is_return=is_return,
        subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total, note=data.get("note") or None,
        updated_at=when(data.get("updated_at")),
    )
