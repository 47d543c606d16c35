"""Rows and JSON documents to canonical entities, and back.

A value that cannot be read stops the feed with a :class:`~tillbridge.ConfigError` naming the
file and line: a drop folder is fixed by whoever writes it, and the flow resumes from its stored
cursor once it is.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, TypeVar

from tillbridge import ConfigError, Customer, Entity, Location, Product, Sale, SaleLine, StockLevel, utc

from .folder import Row

CENT = Decimal("0.01")
T = TypeVar("T")
TRUE = {"1", "true", "yes", "y"}


def _problem(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}", fix="correct the file; the next sync picks it up")


def _decimal(value: Any, where: str, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _problem(where, f"{name} {value!r} is not a number") from None


def _date(value: Any, where: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        raise _problem(where, f"{name} {value!r} is not an ISO date (e.g. 2026-03-01T10:30:00Z)") from None


def _need(values: dict[str, Any], where: str, *names: str) -> None:
    missing = [n for n in names if not str(values.get(n) or "").strip()]
    if missing:
        raise _problem(where, f"{', '.join(missing)} must not be empty")


def _build(where: str, make: Callable[[], T]) -> T:
    try:
        return make()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        if callable(errors) and errors():
            first = errors()[0]
            raise _problem(where, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        raise _problem(where, str(exc)) from None


def product(row: Row) -> Entity:
    w = row.where
    _need(row, w, "id", "code")
    return _build(w, lambda: Product(
        id=row.get("id", ""), code=row.get("code", ""), description=row.get("description") or row.get("code", ""),
        sell_price=_decimal(row.get("sell_price"), w, "sell_price"),
        cost_price=_decimal(row.get("cost_price"), w, "cost_price"),
        barcode=row.get("barcode") or None, obsolete=row.get("obsolete", "").lower() in TRUE,
        updated_at=_date(row.get("updated_at"), w, "updated_at") or row.modified,
    ))


def customer(row: Row) -> Entity:
    w = row.where
    _need(row, w, "id", "code", "name")
    return _build(w, lambda: Customer(
        id=row.get("id", ""), code=row.get("code", ""), name=row.get("name", ""),
        first_name=row.get("first_name") or None, last_name=row.get("last_name") or None,
        email=row.get("email") or None, phone=row.get("phone") or None,
        company_name=row.get("company_name") or None, obsolete=row.get("obsolete", "").lower() in TRUE,
        updated_at=_date(row.get("updated_at"), w, "updated_at") or row.modified,
    ))


def outlet(row: Row) -> Entity:
    _need(row, row.where, "id", "name")
    return _build(row.where, lambda: Location(id=row.get("id", ""), kind="outlet", name=row.get("name", ""),
                                              code=row.get("code") or None, updated_at=row.modified))


def sale(document: dict[str, Any], where: str, modified: datetime) -> Entity:
    """A sale; totals are computed from the lines (tax-exclusive prices, tax per line)."""
    _need(document, where, "id", "outlet_id")
    lines = []
    for n, raw in enumerate(document.get("lines") or [], start=1):
        at = f"{where} line {n}"
        _need(raw, at, "product_id")
        quantity = _decimal(raw.get("quantity"), at, "quantity") or Decimal(0)
        unit_price = _decimal(raw.get("unit_price"), at, "unit_price") or Decimal(0)
        discount = _decimal(raw.get("discount"), at, "discount") or Decimal(0)
        rate = _decimal(raw.get("tax_rate"), at, "tax_rate") or Decimal(0)
        net = ((unit_price - discount) * quantity).quantize(CENT)
        tax = _decimal(raw.get("tax_amount"), at, "tax_amount")
        lines.append(_build(at, lambda: SaleLine(
            product_id=str(raw["product_id"]), quantity=quantity, unit_price=unit_price, unit_discount=discount,
            tax_rate=rate, tax_amount=tax if tax is not None else (net * rate).quantize(CENT),
            product_code=raw.get("product_code"), description=raw.get("description"))))
    subtotal = sum((line.line_total for line in lines), Decimal(0))
    tax_total = sum((line.tax_amount for line in lines), Decimal(0))
    return _build(where, lambda: Sale(
        id=str(document.get("id") or ""), number=str(document.get("number") or document.get("id") or ""),
        location_id=str(document.get("outlet_id") or ""), status=document.get("status", "closed"),
        sale_date=_date(document.get("date"), where, "date") or modified, lines=tuple(lines),
        customer_id=document.get("customer_id") or None, is_return=bool(document.get("is_return", False)),
        subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total, note=document.get("note"),
        source_status=document.get("status"),
        updated_at=_date(document.get("updated_at"), where, "updated_at") or modified,
    ))


def product_row(p: Product, record_id: str, updated: datetime) -> dict[str, str]:
    return {"id": record_id, "code": p.code, "description": p.description,
            "sell_price": "" if p.sell_price is None else str(p.sell_price),
            "cost_price": "" if p.cost_price is None else str(p.cost_price), "barcode": p.barcode or "",
            "obsolete": "yes" if p.obsolete else "", "updated_at": stamp(updated)}


def customer_row(c: Customer, record_id: str, updated: datetime) -> dict[str, str]:
    return {"id": record_id, "code": c.code, "name": c.name, "first_name": c.first_name or "",
            "last_name": c.last_name or "", "email": c.email or "", "phone": c.phone or "",
            "company_name": c.company_name or "", "obsolete": "yes" if c.obsolete else "", "updated_at": stamp(updated)}


def stock_row(level: StockLevel, record_id: str, updated: datetime) -> dict[str, str]:
    return {"id": record_id, "product_id": level.product_id, "location_id": level.location_id,
            "on_hand": str(level.on_hand), "available": str(level.available), "updated_at": stamp(updated)}


#: Canonical field -> CSV column, for partial updates (``Outgoing.update_fields``).
COLUMNS = {"code": "code", "description": "description", "sell_price": "sell_price", "cost_price": "cost_price",
           "barcode": "barcode", "obsolete": "obsolete", "name": "name", "first_name": "first_name",
           "last_name": "last_name", "email": "email", "phone": "phone", "company_name": "company_name"}


def stamp(value: datetime) -> str:
    """A UTC timestamp that sorts as text in time order (the feeds' cursor relies on it)."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["COLUMNS", "customer", "customer_row", "outlet", "product", "product_row", "sale", "stamp", "stock_row"]
