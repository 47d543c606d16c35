"""Resolving references in request bodies, and the embedded shapes records carry.

Request bodies refer to other records by ``{"Guid": ...}`` or by code (``{"ProductCode": ...}``,
``{"CustomerCode": ...}``, ``WarehouseCode``), as working clients send them
(https://apidocs.unleashedsoftware.com/SalesOrders, https://apidocs.unleashedsoftware.com/StockAdjustments). Codes are
matched case-insensitively [I].
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import invalid
from .state import Record, UnleashedState


def _guid_of(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("Guid"):
        return str(ref["Guid"]).lower()
    return None


def _by_guid(records: dict[str, Record], guid: str) -> Record | None:
    return records.get(guid) or records.get(guid.lower())


def find_by_code(records: dict[str, Record], field: str, code: str) -> Record | None:
    wanted = code.strip().upper()
    for record in records.values():
        if str(record.get(field) or "").upper() == wanted:
            return record
    return None


def product_by_code(state: UnleashedState, code: str) -> Record | None:
    """``find_by_code(state.products, "ProductCode", code)`` through the code index."""
    guid = state.product_codes.get(code.strip().upper())
    return state.products.get(guid) if guid else None


def customer_by_code(state: UnleashedState, code: str) -> Record | None:
    """``find_by_code(state.customers, "CustomerCode", code)`` through the code index."""
    guid = state.customer_codes.get(code.strip().upper())
    return state.customers.get(guid) if guid else None


def index_code(index: dict[str, str], old: Any, new: Any, guid: str) -> None:
    """Keep a code index right after a record's code went from ``old`` to ``new``."""
    if old and index.get(str(old).upper()) == guid:
        del index[str(old).upper()]
    if new:
        index.setdefault(str(new).upper(), guid)


# --- embedded shapes --------------------------------------------------------------------------
def product_ref(product: Record) -> Record:
    # Embedded product on order/BOM/adjustment lines (https://apidocs.unleashedsoftware.com/SalesOrders line fields).
    return {"Guid": product["Guid"], "ProductCode": product["ProductCode"], "ProductDescription": product["ProductDescription"]}


def customer_ref(customer: Record) -> Record:
    # https://apidocs.unleashedsoftware.com/Customers: embedded customer on orders {CustomerCode, CustomerName,
    # CurrencyId, Guid, LastModifiedOn}.
    return {
        "CustomerCode": customer["CustomerCode"],
        "CustomerName": customer["CustomerName"],
        "CurrencyId": customer["CurrencyId"],
        "Guid": customer["Guid"],
        "LastModifiedOn": customer["LastModifiedOn"],
    }


def warehouse_ref(warehouse: Record) -> Record:
    # https://apidocs.unleashedsoftware.com/SalesOrders: orders embed the full warehouse object.
    return copy.deepcopy(warehouse)


def currency_ref(currency: Record) -> Record:
    return copy.deepcopy(currency)


def tax_ref(tax: Record) -> Record:
    return copy.deepcopy(tax)


# --- resolving references in bodies -----------------------------------------------------------
def resolve_product(state: UnleashedState, ref: Any, field: str) -> Record:
    guid = _guid_of(ref)
    product = _by_guid(state.products, guid) if guid else None
    if product is None and isinstance(ref, dict) and ref.get("ProductCode"):
        product = product_by_code(state, str(ref["ProductCode"]))
    if product is None:
        shown = guid or (ref.get("ProductCode") if isinstance(ref, dict) else None)
        raise invalid(field, f"Product '{shown}' does not exist." if shown else f"{field} is required.")
    return product


def resolve_customer(state: UnleashedState, ref: Any, field: str = "Customer") -> Record:
    guid = _guid_of(ref)
    customer = _by_guid(state.customers, guid) if guid else None
    if customer is None and isinstance(ref, dict) and ref.get("CustomerCode"):
        customer = customer_by_code(state, str(ref["CustomerCode"]))
    if customer is None:
        shown = guid or (ref.get("CustomerCode") if isinstance(ref, dict) else None)
        raise invalid(field, f"Customer '{shown}' does not exist." if shown else "Customer is required.")
    return customer


def resolve_warehouse(state: UnleashedState, ref: Any, code: Any = None, field: str = "Warehouse") -> Record:
    """``Warehouse {Guid}`` / ``{WarehouseCode}`` or a top-level ``WarehouseCode``; else default.

    https://apidocs.unleashedsoftware.com/SalesOrders: clients send ``Warehouse {Guid}`` (or ``WarehouseCode``).
    When neither is given the company's default warehouse is used, as the Unleashed UI does [I].
    """
    guid = _guid_of(ref)
    wanted_code = code or (ref.get("WarehouseCode") if isinstance(ref, dict) else None)
    warehouse = _by_guid(state.warehouses, guid) if guid else None
    if warehouse is None and wanted_code:
        warehouse = find_by_code(state.warehouses, "WarehouseCode", str(wanted_code))
    if warehouse is None and not guid and not wanted_code:
        warehouse = state.default_warehouse()
    if warehouse is None or warehouse["Obsolete"]:
        raise invalid(field, f"Warehouse '{guid or wanted_code}' does not exist.")
    return warehouse


def resolve_tax(state: UnleashedState, code: str, field: str, *, revenue: bool = True) -> Record:
    """A tax by code; the same code may exist for revenue and for expenses
    (https://apidocs.unleashedsoftware.com/Taxes)."""
    wanted = code.strip().upper()
    matches = [t for t in state.taxes.values() if t["TaxCode"].upper() == wanted and not t["Obsolete"]]
    for tax in matches:
        if (tax["CanApplyToRevenue"] if revenue else tax["CanApplyToExpenses"]):
            return tax
    raise invalid(field, f"Tax code '{code}' does not exist{' for revenue' if revenue and matches else ''}.")


def resolve_currency(state: UnleashedState, ref: Any, field: str = "Currency") -> Record | None:
    if ref is None:
        return None
    code = ref.get("CurrencyCode") if isinstance(ref, dict) else str(ref)
    guid = _guid_of(ref)
    currency = _by_guid(state.currencies, guid) if guid else None
    if currency is None and code:
        currency = state.currency_by_code(str(code))
    if currency is None:
        raise invalid(field, f"Currency '{code or guid}' does not exist.")
    return currency
