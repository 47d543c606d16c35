"""Every list and single response checked against the field lists of shared/api-notes/unleashed.md.

The sets below are copied from the notes (section in the comment). Fields the notes do not list
but the emulator adds on purpose are kept apart and tagged [I], so a new field cannot slip in
unnoticed: each object must have every required key and no key outside the allowed set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from decimal import Decimal
from typing import Any, Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tillbridge.emulation import BackgroundServer
from tillbridge_unleashed.emulator import UnleashedEmulator

D = Decimal

PAGINATION = {"NumberOfItems", "PageSize", "PageNumber", "NumberOfPages"}  # §2

WAREHOUSE = {  # §4.1
    "AddressLine1", "AddressLine2", "City", "ContactName", "Country", "DDINumber", "FaxNumber", "Guid",
    "IsDefault", "LastModifiedOn", "MobileNumber", "Obsolete", "PhoneNumber", "PostCode", "Region",
    "StreetNo", "Suburb", "WarehouseCode", "WarehouseName",
}

PRODUCT = {  # §4.2 "Fields seen in real payloads"
    "Guid", "ProductCode", "ProductDescription", "Barcode", "PackSize", "Width", "Height", "Depth", "Weight",
    "MinStockAlertLevel", "MaxStockAlertLevel", "ReOrderPoint", "UnitOfMeasure", "NeverDiminishing", "LastCost",
    "DefaultPurchasePrice", "DefaultSellPrice", "AverageLandPrice", "Obsolete", "Notes",
    *(f"SellPriceTier{n}" for n in range(1, 11)),
    "XeroTaxCode", "XeroTaxRate", "TaxablePurchase", "TaxableSales", "XeroSalesTaxCode", "XeroSalesTaxRate",
    "IsComponent", "IsAssembledProduct", "CanAutoAssemble", "IsSellable", "IsPurchasable", "IsBatchTracked",
    "IsSerialized", "ProductGroup", "XeroSalesAccount", "XeroCostOfGoodsAccount", "PurchaseAccount",
    "BinLocation", "Supplier", "SourceId", "SourceVariantParentId", "CreatedBy", "CreatedOn", "LastModifiedBy",
    "LastModifiedOn", "InventoryDetails", "Images", "ImageUrl", "AttributeSet", "AlternateUnitsOfMeasure",
    "CommerceCode", "Comments", "MinimumOrderQuantity", "MinimumSaleQuantity", "MinimumSellPrice",
    "ICCCountryCode", "ICCCountryName", "CustomsDescription",
}
CUSTOMER_SELL_PRICE = "CustomerSellPrice"  # §4.2: only with the customerCode filter
UNIT_OF_MEASURE = {"Guid", "Name"}
PRODUCT_GROUP = {"GroupName", "Guid", "LastModifiedOn"}
PRICE_TIER = {"Name", "Value"}
PRODUCT_REF = {"Guid", "ProductCode", "ProductDescription"}  # §4.6 line Product

STOCK_ON_HAND = {  # §4.3
    "AllocatedQty", "AvailableQty", "AvgCost", "DaysSinceLastSale", "Guid", "LastModifiedOn", "OnPurchase",
    "ProductCode", "ProductDescription", "ProductGroupName", "ProductGuid", "ProductSourceId", "QtyOnHand",
    "TotalCost", "Warehouse", "WarehouseCode", "WarehouseId",
}

BOM = {  # §4.4 documented fields + the extras seen [C]
    "AverageDuration", "BillNumber", "BillOfMaterialsLines", "CanAutoAssemble", "CanAutoDisassemble",
    "DurationType", "ExpectedDuration", "Guid", "LastModifiedOn", "Obsolete", "Product", "ProductionDaysPerWeek",
    "AutoAssignOldestBatchSerial", "SortByProductCode", "TotalCost", "CreatedOn", "CreatedBy", "LastModifiedBy",
    "AssemblyLayoutId",
}
BOM_LIST = BOM - {"AverageDuration"}  # §4.4: "not in list GET"
BOM_LINE_REQUIRED = {"LineNumber", "Product", "Quantity", "WastageQuantity"}  # §4.4 [I] names
BOM_LINE = BOM_LINE_REQUIRED | {"Guid", "UnitCost", "TotalCost", "Comments", "LastModifiedOn"}  # [I] "optional cost/comment fields"

CUSTOMER = {  # §4.5
    "Guid", "CustomerCode", "CustomerName", "Email", "EmailCC", "ContactFirstName", "ContactLastName",
    "PhoneNumber", "MobileNumber", "FaxNumber", "DDINumber", "Addresses", "Currency", "CurrencyId",
    "CustomerType", "DiscountRate", "GSTVATNumber", "Notes", "Obsolete", "PaymentTerm", "PrintInvoice",
    "PrintPackingSlipInsteadOfInvoice", "Salesperson", "SellPriceTier", "SellPriceTierReference", "StopCredit",
    "Taxable", "TaxCode", "TaxRate", "SourceId", "XeroContactId", "CreatedBy", "CreatedOn", "LastModifiedBy",
    "LastModifiedOn",
}
ADDRESS = {
    "AddressType", "AddressName", "StreetAddress", "StreetAddress2", "Suburb", "City", "Region", "Country",
    "PostalCode", "IsDefault", "DeliveryInstruction",
}
CUSTOMER_REF = {"CustomerCode", "CustomerName", "CurrencyId", "Guid", "LastModifiedOn"}

SALES_ORDER = {  # §4.6
    "Guid", "OrderNumber", "OrderDate", "RequiredDate", "CompletedDate", "ReceivedDate", "PaymentDueDate",
    "OrderStatus", "CustomOrderStatus", "Customer", "CustomerRef", "Comments", "Warehouse", "DeliveryName",
    "DeliveryStreetAddress", "DeliveryStreetAddress2", "DeliverySuburb", "DeliveryCity", "DeliveryRegion",
    "DeliveryCountry", "DeliveryPostCode", "DeliveryMethod", "DeliveryInstruction", "DeliveryContact",
    "Currency", "ExchangeRate", "DiscountRate", "Tax", "TaxRate", "XeroTaxCode", "SubTotal", "TaxTotal", "Total",
    "TotalVolume", "TotalWeight", "BCSubTotal", "BCTaxTotal", "BCTotal", "AllocateProduct", "SalesOrderGroup",
    "SalesPerson", "SalesAccount", "SendAccountingJournalOnly", "SourceId", "SaveAddress", "CreatedBy",
    "CreatedOn", "LastModifiedBy", "LastModifiedOn", "SalesOrderLines",
}
SALES_ORDER_LINE = {  # §4.6
    "Guid", "LineNumber", "LineType", "Product", "DueDate", "OrderQuantity", "UnitPrice", "DiscountRate",
    "LineTotal", "LineTax", "LineTaxCode", "TaxRate", "XeroTaxCode", "XeroSalesAccount", "BCUnitPrice",
    "BCLineTotal", "BCLineTax", "AverageLandedPriceAtTimeOfSale", "UnitCost", "Comments", "Volume", "Weight",
    "CostOfGoodsAccount", "Assembly", "SerialNumbers", "BatchNumbers", "LastModifiedOn",
}
CURRENCY = {"CurrencyCode", "DefaultBuyRate", "DefaultSellRate", "Description", "Guid", "LastModifiedOn"}  # §4.10
TAX = {"CanApplyToExpenses", "CanApplyToRevenue", "Description", "Guid", "LastModifiedOn", "Obsolete", "TaxCode", "TaxRate"}  # §4.9

DELIVERY = {
    "DeliveryName", "DeliveryStreetAddress", "DeliveryStreetAddress2", "DeliverySuburb", "DeliveryCity",
    "DeliveryRegion", "DeliveryCountry", "DeliveryPostCode", "DeliveryMethod", "DeliveryInstruction",
}
INVOICE_NOTES = {  # §4.7 [C Connectorly], with "delivery/postal address fields" = the order's Delivery* fields
    "Guid", "InvoiceNumber", "OrderNumber", "InvoiceDate", "DueDate", "InvoiceStatus", "Customer", "Currency",
    "ExchangeRate", "Comments", "CreatedBy", "PaymentTerm", "PaymentReceived", "InvoiceLines", *DELIVERY,
}
INVOICE_ADDED = {  # [I] added by the emulator (see invoices.py): totals, tax, audit fields
    "Tax", "SubTotal", "TaxTotal", "Total", "BCSubTotal", "BCTaxTotal", "BCTotal", "CreatedOn",
    "LastModifiedBy", "LastModifiedOn",
}
INVOICE = INVOICE_NOTES | INVOICE_ADDED
INVOICE_LINE = {  # §4.7 + LineTaxCode [I]
    "Guid", "LineNumber", "LineType", "Product", "OrderQuantity", "InvoiceQuantity", "UnitPrice", "DiscountRate",
    "LineTotal", "LineTax", "Comments", "BatchNumbers", "LastModifiedOn", "LineTaxCode",
}

SALES_ORDER_GROUP = {"GroupName", "Guid", "Obsolete"}  # §4.8 [I]

STOCK_ADJUSTMENT = {  # §4.12
    "AccountCode", "AdjustmentDate", "AdjustmentNumber", "AdjustmentReason", "ConfirmedBy", "ConfirmedOn",
    "CreatedBy", "CreatedOn", "Guid", "LastModifiedBy", "LastModifiedOn", "Status", "StockAdjustmentLines",
    "Warehouse",
}
STOCK_ADJUSTMENT_LINE = {
    "BatchNumbers", "Comments", "Guid", "LastModifiedOn", "LineNumber", "NewActualValue", "NewQuantity",
    "Product", "SerialNumbers",
}

WEBHOOK_SUBSCRIPTION = {"Guid", "NotificationUrl", "EventTypes", "Description", "Status", "CreatedOn", "LastModifiedOn"}  # our choice (§7 [?])

DATE_FIELDS = re.compile(r"(Date|On)$")
NET_DATE = re.compile(r"^/Date\(-?\d+\)/$")


def check(obj: Any, allowed: set[str], required: set[str] | None = None, where: str = "") -> None:
    assert isinstance(obj, dict), f"{where}: expected an object, got {obj!r}"
    keys = set(obj)
    missing = (allowed if required is None else required) - keys
    unknown = keys - allowed
    assert not missing, f"{where}: missing {sorted(missing)}"
    assert not unknown, f"{where}: not in the notes {sorted(unknown)}"
    for key, value in obj.items():
        if DATE_FIELDS.search(key) and not key.startswith("Days") and isinstance(value, (str, int, float)):
            assert isinstance(value, str) and NET_DATE.match(value), f"{where}.{key}: not /Date(ms)/: {value!r}"


def check_product(p: dict[str, Any], where: str, *, with_customer_price: bool = False) -> None:
    check(p, PRODUCT | ({CUSTOMER_SELL_PRICE} if with_customer_price else set()), where=where)
    check(p["UnitOfMeasure"], UNIT_OF_MEASURE, where=f"{where}.UnitOfMeasure")
    check(p["ProductGroup"], PRODUCT_GROUP, where=f"{where}.ProductGroup")
    for n in range(1, 11):
        check(p[f"SellPriceTier{n}"], PRICE_TIER, where=f"{where}.SellPriceTier{n}")


def check_customer(c: dict[str, Any], where: str) -> None:
    check(c, CUSTOMER, where=where)
    check(c["Currency"], CURRENCY, where=f"{where}.Currency")
    for i, address in enumerate(c["Addresses"]):
        check(address, ADDRESS, where=f"{where}.Addresses[{i}]")


def check_order(o: dict[str, Any], where: str) -> None:
    check(o, SALES_ORDER, where=where)
    check(o["Customer"], CUSTOMER_REF, where=f"{where}.Customer")
    check(o["Warehouse"], WAREHOUSE, where=f"{where}.Warehouse")
    check(o["Currency"], CURRENCY, where=f"{where}.Currency")
    check(o["Tax"], TAX, where=f"{where}.Tax")
    assert o["SalesOrderLines"], where
    for i, line in enumerate(o["SalesOrderLines"]):
        check(line, SALES_ORDER_LINE, where=f"{where}.SalesOrderLines[{i}]")
        if line["Product"] is not None:
            check(line["Product"], PRODUCT_REF, where=f"{where}.SalesOrderLines[{i}].Product")


def check_invoice(inv: dict[str, Any], where: str) -> None:
    check(inv, INVOICE, where=where)
    check(inv["Customer"], CUSTOMER_REF, where=f"{where}.Customer")
    check(inv["Currency"], CURRENCY, where=f"{where}.Currency")
    check(inv["Tax"], TAX, where=f"{where}.Tax")
    for i, line in enumerate(inv["InvoiceLines"]):
        check(line, INVOICE_LINE, where=f"{where}.InvoiceLines[{i}]")
        if line["Product"] is not None:  # a Discount line carries no product
            check(line["Product"], PRODUCT_REF, where=f"{where}.InvoiceLines[{i}].Product")


def check_bom(b: dict[str, Any], where: str, *, in_list: bool) -> None:
    check(b, BOM_LIST if in_list else BOM, where=where)
    check(b["Product"], PRODUCT_REF, where=f"{where}.Product")
    for i, line in enumerate(b["BillOfMaterialsLines"]):
        check(line, BOM_LINE, BOM_LINE_REQUIRED, where=f"{where}.BillOfMaterialsLines[{i}]")
        check(line["Product"], PRODUCT_REF, where=f"{where}.BillOfMaterialsLines[{i}].Product")


def check_adjustment(a: dict[str, Any], where: str) -> None:
    check(a, STOCK_ADJUSTMENT, where=where)
    check(a["Warehouse"], WAREHOUSE, where=f"{where}.Warehouse")
    for i, line in enumerate(a["StockAdjustmentLines"]):
        check(line, STOCK_ADJUSTMENT_LINE, where=f"{where}.StockAdjustmentLines[{i}]")
        check(line["Product"], PRODUCT_REF, where=f"{where}.StockAdjustmentLines[{i}].Product")


class Client:
    def __init__(self, base_url: str, api_id: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.api_id, self.api_key = api_id, api_key

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        query = urlencode(params or {})
        signature = base64.b64encode(hmac.new(self.api_key.encode(), query.encode(), hashlib.sha256).digest()).decode()
        headers = {"Accept": "application/json", "api-auth-id": self.api_id, "api-auth-signature": signature}
        response = self.http.request(method, path + (f"?{query}" if query else ""), headers=headers, json=body)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def page(self, path: str, **params: Any) -> list[dict[str, Any]]:
        data = self.call("GET", path, params=params)
        check(data, {"Pagination", "Items"}, where=path)
        check(data["Pagination"], PAGINATION, where=f"{path}.Pagination")
        assert data["Items"], f"{path} returned no items to check"
        return data["Items"]


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[UnleashedEmulator, Client, dict[str, str]]]:
    """One company with every kind of record, built once for the read-only checks below."""
    emu = UnleashedEmulator(seed=3, options={"products": 4, "customers": 2})
    server = BackgroundServer(emu).start()
    client = Client(server.url, emu.options["api_id"], emu.options["api_key"])
    customer = emu.customers()[0]
    order_guid = str(uuid.uuid4())
    client.call("POST", f"/SalesOrders/{order_guid}", {
        "Customer": {"Guid": customer["Guid"]}, "Warehouse": {"WarehouseCode": "W1"}, "SalesOrderGroup": "Online",
        "SalesOrderLines": [
            {"Product": {"ProductCode": "GIFT-BOX"}, "OrderQuantity": 1, "UnitPrice": 8.0},
            {"LineType": "Discount", "OrderQuantity": 1, "UnitPrice": -1.0},
        ],
    })
    emu.set_stock("GIFT-BOX", "W1", D(5))
    client.call("POST", f"/SalesOrders/{order_guid}/Complete")
    parked = str(uuid.uuid4())
    client.call("POST", f"/SalesOrders/{parked}", {"Customer": {"Guid": customer["Guid"]}, "SalesOrderLines": [{"Product": {"ProductCode": "MUG-CERAMIC"}, "OrderQuantity": 2, "UnitPrice": 18.0}]})
    adjustment = str(uuid.uuid4())
    client.call("POST", f"/StockAdjustments/{adjustment}", {"Warehouse": {"WarehouseCode": "W2"}, "StockAdjustmentLines": [{"Product": {"ProductCode": "GIFT-BOX"}, "NewQuantity": 9}]})
    ids = {"order": order_guid, "parked": parked, "adjustment": adjustment, "customer": customer["Guid"], "customer_code": customer["CustomerCode"]}
    try:
        yield emu, client, ids
    finally:
        server.stop()
        emu.close()


World = tuple[UnleashedEmulator, Client, dict[str, str]]


def test_warehouses(world: World) -> None:
    _, client, _ = world
    items = client.page("/Warehouses")
    for i, w in enumerate(items):
        check(w, WAREHOUSE, where=f"Warehouses[{i}]")
    check(client.call("GET", f"/Warehouses/{items[0]['Guid']}"), WAREHOUSE, where="Warehouse")


def test_products(world: World) -> None:
    _, client, ids = world
    items = client.page("/Products")
    for p in items:
        check_product(p, f"Products[{p['ProductCode']}]")
    check_product(client.call("GET", f"/Products/{items[0]['Guid']}"), "Product")
    for p in client.page("/Products", customerCode=ids["customer_code"]):
        check_product(p, f"Products?customerCode[{p['ProductCode']}]", with_customer_price=True)
        assert p["CustomerSellPrice"] is not None


def test_customers(world: World) -> None:
    _, client, ids = world
    for i, c in enumerate(client.page("/Customers")):
        check_customer(c, f"Customers[{i}]")
    check_customer(client.call("GET", f"/Customers/{ids['customer']}"), "Customer")


def test_stock_on_hand(world: World) -> None:
    emu, client, _ = world
    for view in ({}, {"warehouseCode": "W1"}, {"isAssembled": "true"}, {"warehouseCode": "W2", "isAssembled": "true"}):
        for r in client.page("/StockOnHand", **view):
            check(r, STOCK_ON_HAND, where=f"StockOnHand{view}[{r['ProductCode']}]")
    box = emu.product_by_code("GIFT-BOX")
    assert box is not None
    check(client.call("GET", f"/StockOnHand/{box['Guid']}"), STOCK_ON_HAND, where="StockOnHand/{guid}")
    for r in client.page(f"/StockOnHand/{box['Guid']}/AllWarehouses"):
        check(r, STOCK_ON_HAND, where=f"AllWarehouses[{r['WarehouseCode']}]")


def test_bills_of_materials(world: World) -> None:
    _, client, _ = world
    items = client.page("/BillOfMaterials")
    for b in items:
        check_bom(b, f"BillOfMaterials[{b['BillNumber']}]", in_list=True)
    check_bom(client.call("GET", f"/BillOfMaterials/{items[0]['Guid']}"), "BillOfMaterials/{guid}", in_list=False)


def test_sales_orders(world: World) -> None:
    _, client, ids = world
    items = client.page("/SalesOrders")
    assert {o["OrderStatus"] for o in items} == {"Completed", "Parked"}
    for o in items:
        check_order(o, f"SalesOrders[{o['OrderNumber']}]")
    for guid in (ids["order"], ids["parked"]):
        check_order(client.call("GET", f"/SalesOrders/{guid}"), "SalesOrders/{guid}")


def test_invoices(world: World) -> None:
    _, client, _ = world
    items = client.page("/Invoices")
    for inv in items:
        check_invoice(inv, f"Invoices[{inv['InvoiceNumber']}]")
    check_invoice(client.call("GET", f"/Invoices/{items[0]['Guid']}"), "Invoices/{guid}")


def test_reference_data(world: World) -> None:
    _, client, _ = world
    groups = client.page("/SalesOrderGroups")
    for g in groups:
        check(g, SALES_ORDER_GROUP, where=f"SalesOrderGroups[{g['GroupName']}]")
    check(client.call("GET", f"/SalesOrderGroups/{groups[0]['Guid']}"), SALES_ORDER_GROUP, where="SalesOrderGroup")
    taxes = client.page("/Taxes")
    for t in taxes:
        check(t, TAX, where=f"Taxes[{t['TaxCode']}]")
    check(client.call("GET", f"/Taxes/{taxes[0]['Guid']}"), TAX, where="Tax")
    currencies = client.call("GET", "/Currencies")
    check(currencies, {"Items"}, where="Currencies")  # §4.10: no Pagination block
    for c in currencies["Items"]:
        check(c, CURRENCY, where=f"Currencies[{c['CurrencyCode']}]")
    check(client.call("GET", f"/Currencies/{currencies['Items'][0]['Guid']}"), CURRENCY, where="Currency")


def test_stock_adjustments(world: World) -> None:
    _, client, ids = world
    for a in client.page("/StockAdjustments"):
        check_adjustment(a, f"StockAdjustments[{a['AdjustmentNumber']}]")
    check_adjustment(client.call("GET", f"/StockAdjustments/{ids['adjustment']}"), "StockAdjustments/{guid}")


def test_webhook_subscriptions(world: World) -> None:
    _, client, _ = world
    created = client.call("POST", "/Webhooks/Subscriptions", {"NotificationUrl": "http://127.0.0.1:9/hook", "EventTypes": ["salesorder.created"]})
    check(created, WEBHOOK_SUBSCRIPTION | {"SigningKey"}, where="subscription (create)")
    for s in client.page("/Webhooks/Subscriptions"):
        check(s, WEBHOOK_SUBSCRIPTION, where="subscription")
    client.call("DELETE", f"/Webhooks/Subscriptions/{created['Guid']}")


def test_check_rejects_unknown_and_missing_fields() -> None:
    with pytest.raises(AssertionError, match="not in the notes"):
        check({"Guid": "x", "Extra": 1}, {"Guid"})
    with pytest.raises(AssertionError, match="missing"):
        check({}, {"Guid"})
    with pytest.raises(AssertionError, match="Date"):
        check({"LastModifiedOn": "2024-01-01"}, {"LastModifiedOn"})
