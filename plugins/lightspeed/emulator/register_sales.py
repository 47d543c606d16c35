"""``POST /api/register_sales`` (API 0.9): still the documented way to create or update a sale.

Body per the docs' "sales 101" (https://x-series-api.lightspeedhq.com/docs/sales_101): ``register_id``,
``user_id``, ``status``, ``customer_id``, ``sale_date`` (``YYYY-MM-DD HH:MM:SS`` UTC), ``note``, ``invoice_number``,
``register_sale_products: [{product_id, quantity, price, tax, tax_id, discount, ...}]``,
``register_sale_payments: [{register_id, retailer_payment_type_id, payment_date, amount}]``;
with ``id`` it updates that sale, and line items not re-sent are deleted (gist pzurek).
The answer is ``{"register_sale": {...}}`` in the 0.9 shape; 0.9 errors look like
``{"status": "error", "error": ..., "details": ...}`` (Vend's Go client ``Error9``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .errors import StoreError
from .http import api_route, json_response, read_json
from .money import ZERO, to_decimal
from .sales import LineInput, PaymentInput, SaleInput
from .state import LightspeedStore
from .store import iso
from .versioned import Record

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator


class LegacyError(StoreError):
    status = 400

    def body(self) -> dict[str, Any]:
        return {"status": "error", "error": self.title, "details": self.message}


def _fail(message: str, status: int = 400) -> LegacyError:
    err = LegacyError(message, status=status)
    err.title = "Not Found" if status == 404 else "Bad Request"
    return err


def _date(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _fail("sale_date must be a string like 2016-05-05 23:35:34")
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S"), datetime.fromisoformat):
        try:
            moment = parse(value)
        except ValueError:
            continue
        return iso(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))
    raise _fail("sale_date must look like 2016-05-05 23:35:34 (UTC)")


def _num(value: Any, field: str, default: Decimal | None = None) -> Decimal:
    if value is None and default is not None:
        return default
    try:
        return to_decimal(value, field)
    except ValueError as exc:
        raise _fail(str(exc)) from exc


def parse_sale(body: Any) -> tuple[SaleInput, str | None]:
    if not isinstance(body, dict):
        raise _fail("the body must be a JSON object")
    for key in ("register_id", "user_id", "status"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise _fail(f"{key} is required")
    lines: list[LineInput] = []
    for item in body.get("register_sale_products") or []:
        if not isinstance(item, dict) or not isinstance(item.get("product_id"), str):
            raise _fail("each register_sale_product needs a product_id")
        qty = _num(item.get("quantity"), "quantity")
        lines.append(
            LineInput(
                product_id=item["product_id"],
                quantity=qty,
                price=_num(item.get("price"), "price"),
                discount=_num(item.get("discount"), "discount", ZERO),
                tax=_num(item["tax"], "tax") if item.get("tax") is not None else None,
                tax_id=item.get("tax_id") or None,
                cost=_num(item["cost"], "cost") if item.get("cost") is not None else None,
                price_set=bool(int(item.get("price_set") or 0)),
                is_return=qty < 0,
                note=item.get("note"),
                status=item.get("status") or "CONFIRMED",
                loyalty_value=_num(item.get("loyalty_value"), "loyalty_value", ZERO),
            )
        )
    payments: list[PaymentInput] | None = None
    if "register_sale_payments" in body:
        payments = []
        for item in body.get("register_sale_payments") or []:
            if not isinstance(item, dict):
                raise _fail("each register_sale_payment must be an object")
            payments.append(
                PaymentInput(
                    amount=_num(item.get("amount"), "amount"),
                    retailer_payment_type_id=item.get("retailer_payment_type_id"),
                    payment_date=_date(item.get("payment_date")),
                    register_id=item.get("register_id"),
                )
            )
    sale = SaleInput(
        register_id=body["register_id"],
        user_id=body["user_id"],
        status=body["status"],
        lines=lines,
        payments=payments,
        customer_id=body.get("customer_id") or None,
        note=body.get("note"),
        sale_date=_date(body.get("sale_date")),
        invoice_number=body.get("invoice_number") or None,
        short_code=body.get("short_code") or None,
    )
    sale_id = body.get("id") if isinstance(body.get("id"), str) and body.get("id") else None
    return sale, sale_id


def _legacy_date(value: str | None) -> str | None:
    return None if value is None else datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def legacy_sale(store: LightspeedStore, sale: Record) -> dict[str, Any]:
    """The 0.9 ``register_sale`` representation of a stored sale."""
    rates = {r["id"]: (t, r) for t in store.taxes.values() for r in t["rates"]}
    lines = []
    for line in sale["line_items"]:
        product = store.products.get(line["product_id"]) or {}
        tax, rate = rates.get(line["tax_components"][0]["rate_id"], ({}, {}))
        lines.append(
            {
                "id": line["id"],
                "product_id": line["product_id"],
                "register_id": sale["register_id"],
                # 0.9 sends some numbers as strings (https://x-series-api.lightspeedhq.com/docs/sales_101)
                "sequence": str(line["sequence"]),
                "handle": product.get("handle"),
                "sku": product.get("sku"),
                "name": product.get("variant_name") or product.get("name"),
                "quantity": line["quantity"],
                "price": line["price"],
                "cost": line["cost"],
                "price_set": 1 if line["price_set"] else 0,
                "discount": line["discount"],
                "loyalty_value": line["loyalty_value"],
                "tax": line["tax"],
                "tax_id": line["tax_id"],
                "tax_name": tax.get("name"),
                "tax_rate": rate.get("rate"),
                "tax_total": line["tax_total"],
                "price_total": line["price_total"],
                "display_retail_price_tax_inclusive": "1",
                "status": line["status"],
                "attributes": [],
            }
        )
    paid = sum((p["amount"] for p in sale["payments"]), ZERO)
    total = sale["total_price"] + sale["total_tax"]
    return {
        "id": sale["id"],
        "register_id": sale["register_id"],
        "customer_id": sale.get("customer_id"),
        "user_id": sale["user_id"],
        "sale_date": _legacy_date(sale["sale_date"]),
        "created_at": _legacy_date(sale["created_at"]),
        "updated_at": _legacy_date(sale["updated_at"]),
        "total_price": sale["total_price"],
        "total_tax": sale["total_tax"],
        "note": sale["note"] or "",
        "status": sale["status"],
        "short_code": sale["short_code"],
        "invoice_number": sale["invoice_number"],
        "invoice_sequence": sale["invoice_sequence"],
        "return_for": sale["return_for"],
        "register_sale_products": lines,
        "totals": {"total_tax": sale["total_tax"], "total_price": sale["total_price"],
                   "total_payment": paid, "total_to_pay": total - paid},  # fmt: skip
        "register_sale_payments": [
            {
                "id": p["id"],
                "register_id": p["register_id"],
                "retailer_payment_type_id": p["retailer_payment_type_id"],
                "payment_type_id": p["payment_type_id"],
                "name": p["name"],
                "label": p["name"],
                "payment_date": _legacy_date(p["payment_date"]),
                "amount": p["amount"],
            }
            for p in sale["payments"]
        ],
    }


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:

    async def register_sales(request: Request, app: str) -> Response:
        sale_input, sale_id = parse_sale(await read_json(request))
        with emulator.lock:
            try:
                sale = emulator.store.record_sale(sale_input, sale_id)
            except LegacyError:
                raise
            except StoreError as exc:
                raise _fail(exc.message, 404 if exc.status == 404 else 400) from exc
            return json_response({"register_sale": legacy_sale(emulator.store, sale)})

    return [api_route(emulator, "/api/register_sales", register_sales, ["POST"])]
