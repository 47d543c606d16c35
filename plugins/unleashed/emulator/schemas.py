"""The documented request bodies of every write endpoint, checked before a handler runs.

Field names and types come from Unleashed's field tables (https://apidocs.unleashedsoftware.com/
Products, /Customers, /SalesOrders, /StockAdjustments, /BillOfMaterials) and the bodies
working clients send; a body with a field of the wrong type, a required field missing, or a value
outside its documented set is refused with the 400 the handlers use for any other invalid body
(``{"Description", "Items": [{"Field", "Message"}]}``). Fields not listed are ignored, as
ASP.NET's model binding ignores unknown properties [I]. The handlers still check what depends on
the company's data (codes taken, records that do not exist, totals that do not add up).

Types follow JSON.NET's conversions, which the Unleashed API (ASP.NET) uses to read a body [I]:
a number or a numeric string reads as a decimal, ``true``/``false`` (or their strings) as a
boolean, a number as text; an object or a list never reads as a scalar, nor a scalar as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from .errors import UnleashedError
from .wire import parse_body_date

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Kind:
    """One field's type: ``text`` (``max_len``), ``decimal``, ``int``, ``bool``, ``date``,
    ``guid``, ``enum`` (``choices``), ``object`` (``fields``) or ``list`` of ``item``."""

    name: str
    max_len: int | None = None
    choices: tuple[str, ...] = ()
    fields: Mapping[str, "Kind"] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    item: "Kind | None" = None


def text(max_len: int | None = None) -> Kind:
    return Kind("text", max_len=max_len)


DECIMAL, INT, BOOL, DATE, ID = Kind("decimal"), Kind("int"), Kind("bool"), Kind("date"), Kind("guid")


def enum(*choices: str) -> Kind:
    return Kind("enum", choices=choices)


def obj(fields: Mapping[str, Kind], required: tuple[str, ...] = ()) -> Kind:
    return Kind("object", fields=fields, required=required)


def many(item: Kind) -> Kind:
    return Kind("list", item=item)


ANY_OBJECT = obj({})
#: A reference to another record: by Guid, or by its code where the API takes one.
PRODUCT_REF = obj({"Guid": ID, "ProductCode": text(100), "ProductDescription": text(500)})
CUSTOMER_REF = obj({"Guid": ID, "CustomerCode": text(), "CustomerName": text()})
WAREHOUSE_REF = obj({"Guid": ID, "WarehouseCode": text(15), "WarehouseName": text(100)})
CURRENCY_REF = obj({"Guid": ID, "CurrencyCode": text(3)})
TAX_REF = obj({"Guid": ID, "TaxCode": text(25), "TaxRate": DECIMAL})
TIER = obj({"Name": text(), "Value": DECIMAL})

PRODUCT = obj({
    "Guid": ID, "ProductCode": text(100), "ProductDescription": text(500), "Barcode": text(),
    "PackSize": DECIMAL, "Width": DECIMAL, "Height": DECIMAL, "Depth": DECIMAL, "Weight": DECIMAL,
    "MinStockAlertLevel": DECIMAL, "MaxStockAlertLevel": DECIMAL, "ReOrderPoint": DECIMAL,
    "UnitOfMeasure": obj({"Guid": ID, "Name": text()}), "NeverDiminishing": BOOL, "LastCost": DECIMAL,
    "DefaultPurchasePrice": DECIMAL, "DefaultSellPrice": DECIMAL, "CustomerSellPrice": DECIMAL,
    "AverageLandPrice": DECIMAL, "Obsolete": BOOL, "Notes": text(),
    **{f"SellPriceTier{n}": TIER for n in range(1, 11)},
    "XeroTaxCode": text(), "XeroTaxRate": DECIMAL, "TaxablePurchase": BOOL, "TaxableSales": BOOL,
    "XeroSalesTaxCode": text(), "XeroSalesTaxRate": DECIMAL, "IsComponent": BOOL,
    "IsAssembledProduct": BOOL, "CanAutoAssemble": BOOL, "IsSellable": BOOL, "IsPurchasable": BOOL,
    "IsBatchTracked": BOOL, "IsSerialized": BOOL,
    "ProductGroup": obj({"Guid": ID, "GroupName": text()}), "XeroSalesAccount": text(),
    "XeroCostOfGoodsAccount": text(), "PurchaseAccount": text(), "BinLocation": text(),
    "Supplier": obj({"Guid": ID, "SupplierCode": text(), "SupplierName": text()}),
    "SourceId": text(), "SourceVariantParentId": text(), "CreatedBy": text(),
    "InventoryDetails": many(ANY_OBJECT), "Images": many(ANY_OBJECT), "ImageUrl": text(),
    "AttributeSet": ANY_OBJECT, "AlternateUnitsOfMeasure": many(ANY_OBJECT), "CommerceCode": text(),
    "Comments": text(), "MinimumOrderQuantity": DECIMAL, "MinimumSaleQuantity": DECIMAL,
    "MinimumSellPrice": DECIMAL, "ICCCountryCode": text(), "ICCCountryName": text(),
    "CustomsDescription": text(),
})

ADDRESS = obj({
    "AddressType": enum("Postal", "Physical", "Shipping"), "AddressName": text(), "StreetAddress": text(),
    "StreetAddress2": text(), "Suburb": text(), "City": text(), "Region": text(), "Country": text(),
    "PostalCode": text(), "IsDefault": BOOL, "DeliveryInstruction": text(),
})
CUSTOMER = obj({
    "Guid": ID, "CustomerCode": text(), "CustomerName": text(), "Email": text(), "EmailCC": text(),
    "ContactFirstName": text(), "ContactLastName": text(), "PhoneNumber": text(), "MobileNumber": text(),
    "FaxNumber": text(), "DDINumber": text(), "Addresses": many(ADDRESS), "Currency": CURRENCY_REF,
    "CurrencyId": ID, "CustomerType": text(), "DiscountRate": DECIMAL, "GSTVATNumber": text(),
    "Notes": text(), "Obsolete": BOOL, "PaymentTerm": text(), "PrintInvoice": BOOL,
    "PrintPackingSlipInsteadOfInvoice": BOOL, "Salesperson": ANY_OBJECT, "SellPriceTier": text(),
    "SellPriceTierReference": ANY_OBJECT, "StopCredit": BOOL, "Taxable": BOOL, "TaxCode": text(),
    "TaxRate": DECIMAL, "SourceId": text(), "XeroContactId": text(), "CreatedBy": text(),
})

ORDER_LINE = obj({
    "Guid": ID, "LineNumber": INT, "LineType": enum("Discount"), "Product": PRODUCT_REF, "DueDate": DATE,
    "OrderQuantity": DECIMAL, "UnitPrice": DECIMAL, "DiscountRate": DECIMAL, "LineTotal": DECIMAL,
    "LineTax": DECIMAL, "LineTaxCode": text(), "TaxRate": DECIMAL, "XeroTaxCode": text(),
    "XeroSalesAccount": text(), "Comments": text(), "BCUnitPrice": DECIMAL, "BCLineTotal": DECIMAL,
    "BCLineTax": DECIMAL, "UnitCost": DECIMAL, "Volume": DECIMAL, "Weight": DECIMAL,
    "SerialNumbers": many(ANY_OBJECT), "BatchNumbers": many(ANY_OBJECT),
})
ORDER_STATUSES = ("Parked", "Placed", "Backordered", "Completed", "Deleted")
SALES_ORDER = obj({
    "Guid": ID, "OrderNumber": text(20), "OrderDate": DATE, "RequiredDate": DATE, "CompletedDate": DATE,
    "ReceivedDate": DATE, "PaymentDueDate": DATE, "OrderStatus": enum(*ORDER_STATUSES),
    "CustomOrderStatus": text(15), "Customer": CUSTOMER_REF, "CustomerRef": text(500),
    "Comments": text(2048), "Warehouse": WAREHOUSE_REF, "WarehouseCode": text(15),
    **{name: text() for name in ("DeliveryName", "DeliveryStreetAddress", "DeliveryStreetAddress2",
                                 "DeliverySuburb", "DeliveryCity", "DeliveryRegion", "DeliveryCountry",
                                 "DeliveryPostCode", "DeliveryMethod", "DeliveryInstruction")},
    "DeliveryContact": ANY_OBJECT, "Currency": CURRENCY_REF, "ExchangeRate": DECIMAL, "DiscountRate": DECIMAL,
    "Tax": TAX_REF, "TaxRate": DECIMAL, "XeroTaxCode": text(), "SubTotal": DECIMAL, "TaxTotal": DECIMAL,
    "Total": DECIMAL, "AllocateProduct": BOOL, "SalesOrderGroup": text(50), "SalesPerson": ANY_OBJECT,
    "Salesperson": ANY_OBJECT, "SalesAccount": text(), "SendAccountingJournalOnly": BOOL,
    "SourceId": text(500), "SaveAddress": BOOL, "CreatedBy": text(), "SalesOrderLines": many(ORDER_LINE),
})

ADJUSTMENT_LINE = obj({
    "Guid": ID, "LineNumber": INT, "Product": PRODUCT_REF, "NewQuantity": DECIMAL, "NewActualValue": DECIMAL,
    "Comments": text(200), "BatchNumbers": many(ANY_OBJECT), "SerialNumbers": many(ANY_OBJECT),
}, required=("Product", "NewQuantity"))
STOCK_ADJUSTMENT = obj({
    "Guid": ID, "AccountCode": text(50), "AdjustmentDate": DATE, "AdjustmentNumber": text(20),
    "AdjustmentReason": text(20), "Status": enum("Parked", "Completed"), "Warehouse": WAREHOUSE_REF,
    "WarehouseCode": text(15), "StockAdjustmentLines": many(ADJUSTMENT_LINE),
}, required=("StockAdjustmentLines",))

BOM_LINE = obj({
    "Guid": ID, "LineNumber": INT, "Product": PRODUCT_REF, "Quantity": DECIMAL, "WastageQuantity": DECIMAL,
    "UnitCost": DECIMAL, "TotalCost": DECIMAL, "ExpenseAccount": text(), "Comments": text(),
}, required=("Product", "Quantity"))
BILL_OF_MATERIALS = obj({
    "Guid": ID, "BillNumber": text(15), "Product": PRODUCT_REF, "BillOfMaterialsLines": many(BOM_LINE),
    "CanAutoAssemble": BOOL, "CanAutoDisassemble": BOOL, "DurationType": enum("Unit", "Assembly"),
    "ExpectedDuration": DECIMAL, "AverageDuration": DECIMAL, "Obsolete": BOOL, "ProductionDaysPerWeek": INT,
    "AutoAssignOldestBatchSerial": BOOL, "SortByProductCode": BOOL,
})

WEBHOOK_SUBSCRIPTION = obj({"NotificationUrl": text(), "EventTypes": many(Kind("text")), "Description": text()},
                           required=("NotificationUrl", "EventTypes"))

#: What each write endpoint reads, by (method, resource) as routes.py dispatches them.
BODIES: dict[tuple[str, str], tuple[Kind, tuple[str, ...]]] = {
    # (schema, fields required when the record is created)
    ("POST", "products"): (PRODUCT, ("ProductCode", "ProductDescription")),
    ("POST", "customers"): (CUSTOMER, ("CustomerCode", "CustomerName")),
    ("POST", "salesorders"): (SALES_ORDER, ("Customer", "SalesOrderLines")),
    ("PUT", "salesorders"): (SALES_ORDER, ()),
    ("POST", "stockadjustments"): (STOCK_ADJUSTMENT, ()),
    ("POST", "billofmaterials"): (BILL_OF_MATERIALS, ("Product", "BillOfMaterialsLines")),
    ("PUT", "billofmaterials"): (BILL_OF_MATERIALS, ()),
    ("POST", "webhooks"): (WEBHOOK_SUBSCRIPTION, ()),
}


def check_body(method: str, resource: str, body: dict[str, Any], *, creating: bool) -> None:
    """Refuse ``body`` (400) when a documented field has the wrong type, a required field is
    missing or a value is outside its documented set; every problem is listed at once."""
    entry = BODIES.get((method, resource))
    if entry is None:
        return
    schema, on_create = entry
    problems: list[dict[str, str]] = []
    _check_object(schema, body, "", problems, extra_required=on_create if creating else ())
    if problems:
        description = problems[0]["Message"] if len(problems) == 1 else \
            f"The request is not valid: {len(problems)} problems."
        raise UnleashedError(400, description, items=problems)


def _check_object(kind: Kind, value: dict[str, Any], path: str, problems: list[dict[str, str]],
                  extra_required: tuple[str, ...] = ()) -> None:
    for name in (*kind.required, *extra_required):
        if value.get(name) in (None, "", []):
            problems.append({"Field": f"{path}{name}", "Message": f"{path}{name} is required."})
    for name, child in kind.fields.items():
        if name in value and value[name] is not None:
            _check(child, value[name], f"{path}{name}", problems)


def _check(kind: Kind, value: Any, where: str, problems: list[dict[str, str]]) -> None:
    def refuse(message: str) -> None:
        problems.append({"Field": where, "Message": message})

    if kind.name == "object":
        if not isinstance(value, dict):
            refuse(f"{where} must be an object.")
        else:
            _check_object(kind, value, f"{where}.", problems)
    elif kind.name == "list":
        if not isinstance(value, list):
            refuse(f"{where} must be a list.")
        else:
            assert kind.item is not None
            for index, item in enumerate(value):
                _check(kind.item, item, f"{where}[{index}]", problems)
    elif value == "" and kind.name != "text":
        return  # an empty string reads as null into a nullable field (JSON.NET) [I]
    elif isinstance(value, (dict, list)):
        refuse(f"{where} must be {_a(kind)}, not {'an object' if isinstance(value, dict) else 'a list'}.")
    elif kind.name == "text":
        if isinstance(value, bool):
            refuse(f"{where} must be text.")
        elif kind.max_len is not None and len(str(value)) > kind.max_len:
            refuse(f"{where} must be {kind.max_len} characters or fewer (got {len(str(value))}).")
    elif kind.name in ("decimal", "int"):
        number = _number(value)
        if number is None:
            refuse(f"{where} must be a number, got {value!r}.")
        elif kind.name == "int" and number != number.to_integral_value():
            refuse(f"{where} must be a whole number, got {value!r}.")
    elif kind.name == "bool":
        if not isinstance(value, bool) and not (isinstance(value, str) and value.lower() in {"true", "false"}):
            refuse(f"{where} must be true or false, got {value!r}.")
    elif kind.name == "date":
        try:
            parse_body_date(where, value)
        except UnleashedError as exc:
            refuse(exc.description)
    elif kind.name == "guid":
        if not isinstance(value, str) or not GUID.match(value):
            refuse(f"{where} must be a Guid (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX), got {value!r}.")
    elif kind.name == "enum":
        if not isinstance(value, str) or value not in kind.choices:
            refuse(f"{where} must be one of {', '.join(kind.choices)}, got {value!r}.")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _a(kind: Kind) -> str:
    return {"text": "text", "decimal": "a number", "int": "a whole number", "bool": "true or false",
            "date": "a date", "guid": "a Guid", "enum": f"one of {', '.join(kind.choices)}"}.get(kind.name, kind.name)
