"""Unleashed emulator refuses what Unleashed refuses (issue 13, the lasting fix): every write
endpoint checks its body against the documented fields (wrong type, required field missing, a
value outside its set) and answers 400 ``{"Description", "Items": [{"Field", "Message"}]}``;
stock adjustments raise on hand once per Guid and never for a never-diminishing product;
never-diminishing lines never make an order short."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from .test_unleashed_emulator_orders import Client, Factory, order_body, start  # noqa: F401 (fixture)


def new() -> str:
    return str(uuid.uuid4())


def refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["Description"] and any(item["Field"] == field for item in body["Items"]), body


# One wrong body per write endpoint: (method, path, body, the field named in the refusal).
WRONG_BODIES = [
    ("POST", "/Products/{g}", {"ProductCode": "X1", "ProductDescription": "X", "DefaultSellPrice": "ten"},
     "DefaultSellPrice"),
    ("POST", "/Products/{g}", {"ProductCode": "X2", "ProductDescription": "X", "NeverDiminishing": "maybe"},
     "NeverDiminishing"),
    ("POST", "/Products/{g}", {"ProductCode": "X3", "ProductDescription": "X", "UnitOfMeasure": "kg"},
     "UnitOfMeasure"),
    ("POST", "/Products/{g}", {"ProductDescription": "no code"}, "ProductCode"),
    ("POST", "/Customers/{g}", {"CustomerCode": "C1", "CustomerName": "C", "Addresses": {"City": "x"}},
     "Addresses"),
    ("POST", "/Customers/{g}", {"CustomerCode": "C2", "CustomerName": "C",
                                "Addresses": [{"AddressType": "Holiday"}]}, "Addresses[0].AddressType"),
    ("POST", "/Customers/{g}", {"CustomerName": "no code"}, "CustomerCode"),
    ("POST", "/SalesOrders/{g}", {**order_body([("MUG-CERAMIC", "1", "10")]), "OrderStatus": "Shipped"},
     "OrderStatus"),
    ("POST", "/SalesOrders/{g}", {**order_body([("MUG-CERAMIC", "1", "10")]), "Warehouse": "W1"}, "Warehouse"),
    ("POST", "/SalesOrders/{g}", {**order_body([("MUG-CERAMIC", "1", "10")]), "ExchangeRate": True},
     "ExchangeRate"),
    ("POST", "/StockAdjustments/{g}", {"Warehouse": {"WarehouseCode": "W1"},
                                       "StockAdjustmentLines": [{"Product": {"ProductCode": "MUG-CERAMIC"}}]},
     "StockAdjustmentLines[0].NewQuantity"),
    ("POST", "/StockAdjustments/{g}", {"Warehouse": {"WarehouseCode": "W1"}, "Status": "Done",
                                       "StockAdjustmentLines": [{"Product": {"ProductCode": "MUG-CERAMIC"},
                                                                 "NewQuantity": 5}]}, "Status"),
    ("POST", "/BillOfMaterials/{g}", {"Product": {"ProductCode": "MUG-CERAMIC"},
                                      "BillOfMaterialsLines": [{"Product": {"ProductCode": "GIFT-BOX"},
                                                                "Quantity": "two"}]},
     "BillOfMaterialsLines[0].Quantity"),
    ("POST", "/BillOfMaterials/{g}", {"Product": {"ProductCode": "MUG-CERAMIC"}, "DurationType": "Hour",
                                      "BillOfMaterialsLines": [{"Product": {"ProductCode": "GIFT-BOX"},
                                                                "Quantity": 1}]}, "DurationType"),
    ("POST", "/Webhooks/Subscriptions", {"NotificationUrl": "https://example.com/hook", "EventTypes": "product.created"},
     "EventTypes"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), WRONG_BODIES,
                         ids=[f"{m} {p} {f}" for m, p, _, f in WRONG_BODIES])
def test_every_write_endpoint_refuses_a_wrong_body(start: Factory, method: str, path: str, body: dict[str, Any],
                                                   field: str) -> None:
    emu, client = start()
    before = (len(emu.state.products), len(emu.state.customers), len(emu.state.orders),
              len(emu.state.adjustments), len(emu.state.boms))
    guid = new()
    if "Guid" in body:
        body = {**body, "Guid": guid}
    refused(client.request(method, path.format(g=guid), body=body), field)
    after = (len(emu.state.products), len(emu.state.customers), len(emu.state.orders),
             len(emu.state.adjustments), len(emu.state.boms))
    assert after == before  # nothing was stored


def test_updates_are_checked_too(start: Factory) -> None:
    emu, client = start()
    guid = new()
    assert client.post(f"/SalesOrders/{guid}", order_body([("MUG-CERAMIC", "1", "10")], guid=guid)).status_code == 201
    refused(client.put(f"/SalesOrders/{guid}", {"SalesOrderLines": [{"Product": {"ProductCode": "MUG-CERAMIC"},
                                                                     "OrderQuantity": "lots"}]}),
            "SalesOrderLines[0].OrderQuantity")
    product = emu.product_by_code("MUG-CERAMIC")
    assert product is not None
    refused(client.post(f"/Products/{product['Guid']}", {"Obsolete": "no"}), "Obsolete")
    # A right update needs no ProductCode: required fields are for a new record.
    assert client.post(f"/Products/{product['Guid']}", {"Notes": "fine"}).status_code == 200


def test_a_right_body_still_goes_through(start: Factory) -> None:
    _, client = start()
    ok = client.post(f"/Products/{new()}", {"ProductCode": "OK-1", "ProductDescription": "Fine",
                                             "DefaultSellPrice": "12.50", "NeverDiminishing": "false",
                                             "SellPriceTier1": {"Name": "Retail", "Value": ""}})
    assert ok.status_code == 201, ok.text


def test_an_adjustment_raises_on_hand_with_its_value_once_per_guid(start: Factory) -> None:
    emu, client = start()
    product = emu.add_product("OPEN-1", "Opening", sell_price=Decimal(20))
    guid = new()
    body = {"Warehouse": {"WarehouseCode": "W2"}, "AdjustmentReason": "Opening stock",
            "StockAdjustmentLines": [{"Product": {"Guid": product["Guid"]}, "NewQuantity": 8, "NewActualValue": 36}]}
    assert client.post(f"/StockAdjustments/{guid}", body).status_code == 201
    numbers = emu.stock_on_hand(product["Guid"], "W2")
    assert numbers["QtyOnHand"] == 8 and emu.product_by_code("OPEN-1")["AverageLandPrice"] == Decimal("4.5")  # type: ignore[index]
    refused(client.post(f"/StockAdjustments/{guid}", body), "Guid")  # the same Guid again
    assert emu.stock_on_hand(product["Guid"], "W2")["QtyOnHand"] == 8
    assert client.get(f"/StockAdjustments/{guid}").json()["Status"] == "Completed"


def test_never_diminishing_products_take_no_stock_and_never_make_an_order_short(start: Factory) -> None:
    emu, client = start()
    emu.add_product("SERVICE-1", "Gift wrapping", sell_price=Decimal(5), NeverDiminishing=True)
    refused(client.post(f"/StockAdjustments/{new()}", {
        "Warehouse": {"WarehouseCode": "W1"},
        "StockAdjustmentLines": [{"Product": {"ProductCode": "SERVICE-1"}, "NewQuantity": 3}]}),
        "StockAdjustmentLines[0].Product")
    guid = new()
    created = client.post(f"/SalesOrders/{guid}", {**order_body([("SERVICE-1", "4", "5")], guid=guid),
                                                   "OrderStatus": "Completed"})
    assert created.status_code == 201, created.text
    assert created.json()["OrderStatus"] == "Completed"
