"""Unleashed JSON ↔ canonical entities (field names: https://apidocs.unleashedsoftware.com/)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tillbridge import BomLine, Customer, Invoice, InvoiceLine, Location, Product, SalesGroup, StockLevel, Tax

# https://apidocs.unleashedsoftware.com/SalesOrders: "/Date(1586833770780)/", the slashes sometimes escaped, the
# number possibly negative.
DOTNET_DATE = re.compile(r"^\\?/Date\((-?\d+)(?:[+-]\d{4})?\)\\?/$")


def dec(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    return Decimal(str(value))


def opt_dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def when(value: Any) -> datetime | None:
    if not value:
        return None
    match = DOTNET_DATE.match(str(value))
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=timezone.utc)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def wire_date(value: datetime) -> str:
    """Filter dates: ISO, UTC, to the second (https://apidocs.unleashedsoftware.com/SalesOrders)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def product(data: dict[str, Any]) -> Product:
    return Product(
        id=data["Guid"], code=data.get("ProductCode") or "", description=data.get("ProductDescription") or "",
        sell_price=opt_dec(data.get("DefaultSellPrice")), cost_price=opt_dec(data.get("DefaultPurchasePrice")),
        notes=text(data.get("Notes")), barcode=text(data.get("Barcode")),
        is_assembled=bool(data.get("IsAssembledProduct")), can_auto_assemble=bool(data.get("CanAutoAssemble")),
        tracks_inventory=not data.get("NeverDiminishing"),
        obsolete=bool(data.get("Obsolete")), updated_at=when(data.get("LastModifiedOn")),
    )


def customer(data: dict[str, Any]) -> Customer:
    return Customer(
        id=data["Guid"], code=data.get("CustomerCode") or "", name=data.get("CustomerName") or "",
        first_name=text(data.get("ContactFirstName")), last_name=text(data.get("ContactLastName")),
        email=text(data.get("Email")), phone=text(data.get("PhoneNumber")) or text(data.get("MobileNumber")),
        company_name=None, obsolete=bool(data.get("Obsolete")), updated_at=when(data.get("LastModifiedOn")),
    )


def warehouse(data: dict[str, Any]) -> Location:
    return Location(id=data["Guid"], kind="warehouse", name=data.get("WarehouseName") or data.get("WarehouseCode") or "",
                    code=data.get("WarehouseCode"), updated_at=when(data.get("LastModifiedOn")))


def stock(data: dict[str, Any], warehouse_guid: str) -> StockLevel:
    product_guid = data.get("ProductGuid") or data["Guid"]
    on_hand, allocated = dec(data.get("QtyOnHand")), dec(data.get("AllocatedQty"))
    return StockLevel(
        id=f"{product_guid}@{warehouse_guid}", product_id=product_guid, location_id=warehouse_guid,
        on_hand=on_hand, allocated=allocated, available=on_hand - allocated,
        product_code=data.get("ProductCode"), updated_at=when(data.get("LastModifiedOn")),
    )


def tax(data: dict[str, Any]) -> Tax:
    return Tax(id=data.get("Guid") or data["TaxCode"], code=data["TaxCode"], name=data.get("Description") or "",
               rate=dec(data.get("TaxRate")))


def sales_group(data: dict[str, Any]) -> SalesGroup:
    return SalesGroup(id=data.get("Guid") or data["GroupName"], name=data["GroupName"],
                      obsolete=bool(data.get("Obsolete")))


def bom_lines(data: dict[str, Any]) -> list[BomLine]:
    assembly = (data.get("Product") or {}).get("Guid")
    out = []
    for line in data.get("BillOfMaterialsLines") or []:
        component = (line.get("Product") or {}).get("Guid")
        if assembly and component:
            out.append(BomLine(id=f"{data['Guid']}:{line.get('LineNumber')}", assembly_id=assembly,
                               component_id=component, quantity=dec(line.get("Quantity")),
                               can_auto_assemble=bool(data.get("CanAutoAssemble"))))
    return out


def invoice(data: dict[str, Any], references: dict[str, str]) -> Invoice:
    cust = data.get("Customer") or {}
    lines = []
    for line in data.get("InvoiceLines") or []:
        prod = line.get("Product") or {}
        quantity = dec(line.get("InvoiceQuantity") if line.get("InvoiceQuantity") is not None
                       else line.get("OrderQuantity"))
        line_total = dec(line.get("LineTotal"))
        lines.append(InvoiceLine(
            product_code=prod.get("ProductCode"), description=prod.get("ProductDescription") or prod.get("ProductCode")
            or line.get("Comments") or "Item", quantity=quantity, unit_price=dec(line.get("UnitPrice")),
            discount_rate=dec(line.get("DiscountRate")), line_total=line_total, tax_amount=dec(line.get("LineTax")),
            tax_code=line.get("LineTaxCode") or (line.get("Tax") or {}).get("TaxCode"),
            tax_rate=dec(line.get("TaxRate")),
        ))
    subtotal = dec(data.get("SubTotal")) if data.get("SubTotal") is not None else sum(
        (ln.line_total for ln in lines), Decimal(0))
    tax_total = dec(data.get("TaxTotal")) if data.get("TaxTotal") is not None else sum(
        (ln.tax_amount for ln in lines), Decimal(0))
    return Invoice(
        id=data["Guid"], number=data.get("InvoiceNumber") or data["Guid"], order_number=data.get("OrderNumber"),
        reference=references.get(data.get("OrderNumber") or ""), customer_code=cust.get("CustomerCode") or "",
        customer_name=cust.get("CustomerName") or cust.get("CustomerCode") or "",
        invoice_date=when(data.get("InvoiceDate")) or datetime.now(timezone.utc), due_date=when(data.get("DueDate")),
        currency=(data.get("Currency") or {}).get("CurrencyCode") or "NZD", lines=tuple(lines),
        subtotal=subtotal, tax_total=tax_total,
        total=dec(data.get("Total")) if data.get("Total") is not None else subtotal + tax_total,
        status=data.get("InvoiceStatus") or "Completed", updated_at=when(data.get("LastModifiedOn")),
    )
