"""Unleashed emulator: sales orders, completion, stock allocation, auto-assembly, invoices.

shared/api-notes/unleashed.md §4.3 (stock on hand), §4.4 (BOMs), §4.6 (sales orders), §4.7
(invoices), §8 (complete or park with stock allocated).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tillbridge.emulation import BackgroundServer
from tillbridge_unleashed.emulator import UnleashedEmulator

D = Decimal


class Client:
    def __init__(self, base_url: str, api_id: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.api_id, self.api_key = api_id, api_key

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> httpx.Response:
        query = urlencode(params or {})
        signature = base64.b64encode(hmac.new(self.api_key.encode(), query.encode(), hashlib.sha256).digest()).decode()
        headers = {"Accept": "application/json", "Content-Type": "application/json", "api-auth-id": self.api_id, "api-auth-signature": signature}
        content = json.dumps(body).encode() if body is not None else None
        return self.http.request(method, path + (f"?{query}" if query else ""), headers=headers, content=content)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.request("GET", path, params)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any = None) -> httpx.Response:
        return self.request("PUT", path, body=body)


Factory = Callable[..., tuple[UnleashedEmulator, Client]]


@pytest.fixture
def start() -> Iterator[Factory]:
    running: list[tuple[UnleashedEmulator, BackgroundServer]] = []

    def make(**options: Any) -> tuple[UnleashedEmulator, Client]:
        emu = UnleashedEmulator(seed=11, options=options)
        emu.add_customer("WALKIN", "Walk-in Customer")
        server = BackgroundServer(emu).start()
        running.append((emu, server))
        return emu, Client(server.url, emu.options["api_id"], emu.options["api_key"])

    yield make
    for emu, server in running:
        server.stop()
        emu.close()


def money(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def order_body(lines: list[tuple[str, str, str]], *, warehouse: str = "W1", guid: str | None = None, **extra: Any) -> dict[str, Any]:
    """A POS-style order with totals that add up (15% GST on every line)."""
    body_lines = []
    for n, (code, qty, price) in enumerate(lines, start=1):
        total = money(D(qty) * D(price))
        body_lines.append({
            "LineNumber": n, "Product": {"ProductCode": code}, "OrderQuantity": float(qty), "UnitPrice": float(price),
            "DiscountRate": 0, "LineTotal": float(total), "LineTax": float(money(total * D("0.15"))), "LineTaxCode": "G.S.T.",
        })
    sub = sum((D(str(ln["LineTotal"])) for ln in body_lines), D(0))
    tax = sum((D(str(ln["LineTax"])) for ln in body_lines), D(0))
    return {
        "Guid": guid or str(uuid.uuid4()), "OrderStatus": "Parked", "Customer": {"CustomerCode": "WALKIN"},
        "Warehouse": {"WarehouseCode": warehouse}, "Currency": {"CurrencyCode": "NZD"}, "Tax": {"TaxCode": "G.S.T."},
        "SalesOrderGroup": "Retail", "SalesOrderLines": body_lines,
        "SubTotal": float(sub), "TaxTotal": float(tax), "Total": float(sub + tax), **extra,
    }


def soh(client: Client, code: str, emu: UnleashedEmulator, warehouse: str = "W1", **params: Any) -> dict[str, Any]:
    product = emu.product_by_code(code)
    assert product is not None
    return client.get(f"/StockOnHand/{product['Guid']}", warehouseCode=warehouse, **params).json()


# --- create -------------------------------------------------------------------------------------------
def test_create_order_is_201_with_server_number(start: Factory) -> None:
    emu, client = start()
    body = order_body([("GIFT-BOX", "2", "8.00")])
    response = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert response.status_code == 201
    order = response.json()
    assert order["OrderNumber"] == "SO-00000001" and order["OrderStatus"] == "Parked"
    assert order["Total"] == 18.4 and order["Warehouse"]["WarehouseCode"] == "W1"
    assert order["SalesOrderLines"][0]["Product"]["ProductCode"] == "GIFT-BOX"
    assert client.get(f"/SalesOrders/{body['Guid']}").json()["OrderNumber"] == "SO-00000001"
    second = order_body([("GIFT-BOX", "1", "8.00")], OrderNumber="POS-1001")
    assert client.post(f"/SalesOrders/{second['Guid']}", second).json()["OrderNumber"] == "POS-1001"
    clash = order_body([("GIFT-BOX", "1", "8.00")], OrderNumber="POS-1001")
    assert client.post(f"/SalesOrders/{clash['Guid']}", clash).status_code == 400


def test_duplicate_post_of_same_guid_does_not_create_a_second_order(start: Factory) -> None:
    emu, client = start()
    body = order_body([("GIFT-BOX", "1", "8.00")])
    first = client.post(f"/SalesOrders/{body['Guid']}", body)
    again = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["OrderNumber"] == first.json()["OrderNumber"]
    assert len(emu.sales_orders()) == 1
    assert client.get("/SalesOrders").json()["Pagination"]["NumberOfItems"] == 1
    emu2, strict = start(duplicate_order_post="error")
    assert strict.post(f"/SalesOrders/{body['Guid']}", body).status_code == 201
    refused = strict.post(f"/SalesOrders/{body['Guid']}", body)
    assert refused.status_code == 400 and refused.json()["Items"][0]["Field"] == "Guid"
    assert len(emu2.sales_orders()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["SalesOrderLines"][0].update(LineTotal=99.0), "SalesOrderLines[0].LineTotal"),
        (lambda b: b.update(SubTotal=b["SubTotal"] + 0.05), "SubTotal"),
        (lambda b: b.update(TaxTotal=b["TaxTotal"] - 0.02), "TaxTotal"),
        (lambda b: b.update(Total=b["Total"] + 1), "Total"),
    ],
)
def test_totals_mismatch_is_400_naming_the_field(start: Factory, change: Callable[[dict[str, Any]], None], field: str) -> None:
    emu, client = start()
    body = order_body([("GIFT-BOX", "3", "8.00"), ("MUG-CERAMIC", "1", "18.00")])
    change(body)
    response = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert response.status_code == 400
    assert field in [item["Field"] for item in response.json()["Items"]]
    assert emu.sales_orders() == []


def test_concurrent_creates_get_distinct_numbers(start: Factory) -> None:
    emu, client = start()
    bodies = [order_body([("GIFT-BOX", "1", "8.00")]) for _ in range(12)]
    statuses: list[int] = []

    def post(body: dict[str, Any]) -> None:
        local = Client(str(client.http.base_url).rstrip("/"), client.api_id, client.api_key)
        statuses.append(local.post(f"/SalesOrders/{body['Guid']}", body).status_code)

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 12
    numbers = [o["OrderNumber"] for o in emu.sales_orders()]
    assert len(set(numbers)) == 12


def test_totals_within_a_cent_and_non_strict_mode(start: Factory) -> None:
    _, client = start()
    body = order_body([("GIFT-BOX", "3", "8.00")])
    body["SalesOrderLines"][0]["LineTax"] += 0.01  # a client nudging tax to match the POS total
    body["TaxTotal"] = round(body["TaxTotal"] + 0.01, 2)
    body["Total"] = round(body["Total"] + 0.01, 2)
    assert client.post(f"/SalesOrders/{body['Guid']}", body).status_code == 201
    _, lax = start(strict_totals=False)
    wrong = order_body([("GIFT-BOX", "3", "8.00")], Total=1.0)
    assert lax.post(f"/SalesOrders/{wrong['Guid']}", wrong).json()["Total"] == 1.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(Customer={"CustomerCode": "NOBODY"}), "Customer"),
        (lambda b: b.update(Customer={"Guid": str(uuid.uuid4())}), "Customer"),
        (lambda b: b.update(Warehouse={"WarehouseCode": "W99"}), "Warehouse"),
        (lambda b: b["SalesOrderLines"][0].update(Product={"ProductCode": "NOPE"}), "SalesOrderLines[0].Product"),
        (lambda b: b.update(SalesOrderGroup="Wholesale Export"), "SalesOrderGroup"),
        (lambda b: b.update(Tax={"TaxCode": "VAT20"}), "Tax.TaxCode"),
        (lambda b: b["SalesOrderLines"][0].update(LineTaxCode="VAT20"), "SalesOrderLines[0].LineTaxCode"),
        (lambda b: b["SalesOrderLines"][0].update(OrderQuantity=-1, LineTotal=-8.0), "SalesOrderLines[0].OrderQuantity"),
        (lambda b: b.update(SalesOrderLines=[]), "SalesOrderLines"),
        (lambda b: b.update(OrderStatus="Dispatched"), "OrderStatus"),
    ],
)
def test_order_references_are_validated(start: Factory, change: Callable[[dict[str, Any]], None], field: str) -> None:
    _, client = start()
    body = order_body([("GIFT-BOX", "1", "8.00")])
    change(body)
    response = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert response.status_code == 400
    assert field in [item["Field"] for item in response.json()["Items"]]


def test_references_by_guid_and_warehouse_code_top_level(start: Factory) -> None:
    emu, client = start()
    customer = emu.customer_by_code("WALKIN")
    mug = emu.product_by_code("MUG-CERAMIC")
    assert customer and mug
    body = order_body([("MUG-CERAMIC", "1", "18.00")], Customer={"Guid": customer["Guid"]}, WarehouseCode="W2")
    del body["Warehouse"]
    body["SalesOrderLines"][0]["Product"] = {"Guid": mug["Guid"]}
    order = client.post(f"/SalesOrders/{body['Guid']}", body).json()
    assert order["Warehouse"]["WarehouseCode"] == "W2" and order["Customer"]["CustomerCode"] == "WALKIN"


def test_discount_lines_are_allowed(start: Factory) -> None:
    _, client = start()
    body = order_body([("MUG-CERAMIC", "2", "18.00")])
    discount = {"LineNumber": 2, "LineType": "Discount", "OrderQuantity": 1, "UnitPrice": -6.0, "LineTotal": -6.0, "LineTax": -0.9}
    body["SalesOrderLines"].append(discount)
    body.update(SubTotal=30.0, TaxTotal=4.5, Total=34.5)
    response = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert response.status_code == 201, response.text
    assert response.json()["SalesOrderLines"][1]["LineType"] == "Discount"
    completed = client.post(f"/SalesOrders/{body['Guid']}/Complete")
    assert completed.status_code == 200 and completed.json()["OrderStatus"] == "Completed"


def test_a_non_stock_discount_product_may_carry_a_negative_price(start: Factory) -> None:
    emu, client = start()
    emu.add_product("DISCOUNT", "POS sale discount", NeverDiminishing=True)
    emu.set_stock("MUG-CERAMIC", "W1", D(5))
    body = order_body([("MUG-CERAMIC", "1", "18.00"), ("DISCOUNT", "1", "-3.00")])
    response = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert response.status_code == 201, response.text
    assert response.json()["SubTotal"] == 15.0
    assert client.post(f"/SalesOrders/{body['Guid']}/Complete").status_code == 200
    assert emu.stock_on_hand("DISCOUNT", "W1")["QtyOnHand"] == D(0)  # never diminishing: no stock moves
    stocked = order_body([("GIFT-BOX", "1", "-3.00")])
    refused = client.post(f"/SalesOrders/{stocked['Guid']}", stocked)
    assert refused.status_code == 400 and refused.json()["Items"][0]["Field"] == "SalesOrderLines[0].UnitPrice"


# --- completing -----------------------------------------------------------------------------------
def test_complete_deducts_stock_and_creates_an_invoice(start: Factory) -> None:
    emu, client = start()
    emu.set_stock("GIFT-BOX", "W1", D(10))
    body = order_body([("GIFT-BOX", "3", "8.00")])
    client.post(f"/SalesOrders/{body['Guid']}", body)
    done = client.post(f"/SalesOrders/{body['Guid']}/Complete")
    assert done.status_code == 200
    assert done.json()["OrderStatus"] == "Completed" and done.json()["CompletedDate"] is not None
    row = soh(client, "GIFT-BOX", emu)
    assert (row["QtyOnHand"], row["AllocatedQty"], row["AvailableQty"]) == (7.0, 0.0, 7.0)
    assert row["DaysSinceLastSale"] == 0
    invoices = client.get("/Invoices").json()["Items"]
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["InvoiceNumber"] == "SI-00000001" and invoice["OrderNumber"] == done.json()["OrderNumber"]
    assert invoice["InvoiceStatus"] == "Completed" and invoice["Total"] == done.json()["Total"]
    assert invoice["InvoiceLines"][0]["InvoiceQuantity"] == 3.0
    assert client.get("/Invoices", orderNumber=done.json()["OrderNumber"]).json()["Pagination"]["NumberOfItems"] == 1
    assert client.get(f"/Invoices/{invoice['Guid']}").json()["InvoiceNumber"] == "SI-00000001"
    assert client.post("/Invoices", {}).status_code == 405  # read-only
    # Completing again is an idempotent no-op.
    again = client.post(f"/SalesOrders/{body['Guid']}/Complete")
    assert again.status_code == 200 and again.json() == done.json()
    assert soh(client, "GIFT-BOX", emu)["QtyOnHand"] == 7.0
    assert len(emu.invoices()) == 1
    # A completed order can no longer be edited.
    assert client.put(f"/SalesOrders/{body['Guid']}", {"Comments": "late edit"}).status_code == 400


def test_create_completed_order_in_one_call(start: Factory) -> None:
    emu, client = start()
    emu.set_stock("GIFT-BOX", "W1", D(4))
    body = order_body([("GIFT-BOX", "4", "8.00")], OrderStatus="Completed")
    response = client.post(f"/SalesOrders/{body['Guid']}", body)
    assert response.status_code == 201 and response.json()["OrderStatus"] == "Completed"
    assert emu.stock_on_hand("GIFT-BOX", "W1")["QtyOnHand"] == D(0)
    short = order_body([("GIFT-BOX", "1", "8.00")], OrderStatus="Completed")
    refused = client.post(f"/SalesOrders/{short['Guid']}", short)
    assert refused.status_code == 400 and "Insufficient stock" in refused.json()["Description"]
    assert emu.get_sales_order(short["Guid"]) is None


def test_short_stock_parks_and_allocates(start: Factory) -> None:
    emu, client = start()
    emu.set_stock("COFFEE-BEANS-1KG", "W1", D(2))
    body = order_body([("COFFEE-BEANS-1KG", "5", "42.00")])
    client.post(f"/SalesOrders/{body['Guid']}", body)
    refused = client.post(f"/SalesOrders/{body['Guid']}/Complete")
    assert refused.status_code == 400
    assert "Insufficient stock" in refused.json()["Description"]
    assert "COFFEE-BEANS-1KG" in refused.json()["Items"][0]["Message"]
    order = client.get(f"/SalesOrders/{body['Guid']}").json()
    assert order["OrderStatus"] == "Parked"
    row = soh(client, "COFFEE-BEANS-1KG", emu)
    assert (row["QtyOnHand"], row["AllocatedQty"], row["AvailableQty"]) == (2.0, 5.0, -3.0)
    assert row["AvailableQty"] == row["QtyOnHand"] - row["AllocatedQty"]
    # Completing again while still short does not double the allocation.
    assert client.post(f"/SalesOrders/{body['Guid']}/Complete").status_code == 400
    assert soh(client, "COFFEE-BEANS-1KG", emu)["AllocatedQty"] == 5.0
    assert client.get("/Invoices").json()["Items"] == []
    # Stock arrives; the order completes using its own allocation and releases it.
    emu.receive_stock("COFFEE-BEANS-1KG", "W1", D(4))
    assert client.post(f"/SalesOrders/{body['Guid']}/Complete").status_code == 200
    row = soh(client, "COFFEE-BEANS-1KG", emu)
    assert (row["QtyOnHand"], row["AllocatedQty"], row["AvailableQty"]) == (1.0, 0.0, 1.0)


def test_python_complete_order_reports_status_instead_of_raising(start: Factory) -> None:
    emu, client = start()
    emu.set_stock("GIFT-BOX", "W1", D(0))
    body = order_body([("GIFT-BOX", "1", "8.00")])
    client.post(f"/SalesOrders/{body['Guid']}", body)
    assert emu.complete_order(body["Guid"])["OrderStatus"] == "Parked"
    assert emu.stock_on_hand("GIFT-BOX", "W1")["AllocatedQty"] == D(1)
    emu.receive_stock("GIFT-BOX", "W1", D(1))
    assert emu.complete_order(body["Guid"])["OrderStatus"] == "Completed"


def test_update_and_delete_parked_orders(start: Factory) -> None:
    emu, client = start()
    body = order_body([("GIFT-BOX", "1", "8.00")])
    created = client.post(f"/SalesOrders/{body['Guid']}", body).json()
    edited = client.put(f"/SalesOrders/{body['Guid']}", {"Comments": "Gift wrap please"})
    assert edited.status_code == 200
    assert edited.json()["Comments"] == "Gift wrap please" and edited.json()["OrderNumber"] == created["OrderNumber"]
    relined = order_body([("MUG-CERAMIC", "2", "18.00")], guid=body["Guid"])
    assert client.put(f"/SalesOrders/{body['Guid']}", relined).json()["Total"] == 41.4
    moved = client.put(f"/SalesOrders/{body['Guid']}", {"WarehouseCode": "W2", "Salesperson": {"FullName": "Mere Kahu"}})
    assert moved.json()["Warehouse"]["WarehouseCode"] == "W2" and moved.json()["SalesPerson"]["FullName"] == "Mere Kahu"
    client.put(f"/SalesOrders/{body['Guid']}", {"Warehouse": {"WarehouseCode": "W1"}})
    placed = client.put(f"/SalesOrders/{body['Guid']}", {"OrderStatus": "Placed"})
    assert placed.json()["OrderStatus"] == "Placed"
    assert emu.stock_on_hand("MUG-CERAMIC", "W1")["AllocatedQty"] == D(2)  # Placed holds stock
    assert client.put(f"/SalesOrders/{body['Guid']}", {"Comments": "x"}).status_code == 400  # no longer Parked
    assert client.put(f"/SalesOrders/{uuid.uuid4()}", {"Comments": "x"}).status_code == 404
    other = order_body([("GIFT-BOX", "1", "8.00")])
    client.post(f"/SalesOrders/{other['Guid']}", other)
    assert client.request("DELETE", f"/SalesOrders/{other['Guid']}").json()["OrderStatus"] == "Deleted"
    assert other["Guid"] not in {o["Guid"] for o in client.get("/SalesOrders").json()["Items"]}
    assert len(client.get("/SalesOrders", orderStatus="Deleted").json()["Items"]) == 1


def test_order_filters(start: Factory) -> None:
    emu, client = start()
    emu.add_customer("ACME-LTD", "Acme Ltd")
    emu.set_stock("GIFT-BOX", "W1", D(100))
    first = order_body([("GIFT-BOX", "1", "8.00")], SourceId="ls-sale-1")
    client.post(f"/SalesOrders/{first['Guid']}", first)
    client.post(f"/SalesOrders/{first['Guid']}/Complete")
    emu.clock.advance(120)
    cut = emu.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    emu.clock.advance(1)
    second = order_body([("GIFT-BOX", "1", "8.00")], Customer={"CustomerCode": "ACME-LTD"}, warehouse="W2")
    client.post(f"/SalesOrders/{second['Guid']}", second)

    def numbers(**params: Any) -> list[str]:
        return [o["OrderNumber"] for o in client.get("/SalesOrders", **params).json()["Items"]]

    assert numbers() == ["SO-00000001", "SO-00000002"]
    assert numbers(orderStatus="Completed") == ["SO-00000001"]
    assert numbers(orderStatus="Parked,Completed") == ["SO-00000001", "SO-00000002"]
    assert numbers(customerCode="ACME") == ["SO-00000002"]
    assert numbers(warehouseCode="W2") == ["SO-00000002"]
    assert numbers(sourceId="ls-sale-1") == ["SO-00000001"]
    assert numbers(orderNumber="SO-00000002") == ["SO-00000002"]
    assert numbers(modifiedSince=cut) == ["SO-00000002"]


# --- stock on hand ------------------------------------------------------------------------------------
def test_stock_on_hand_totals_per_warehouse_and_never_moved(start: Factory) -> None:
    emu, client = start()
    guid = emu.add_product("NEVER-MOVED", "Never moved")["Guid"]
    emu.set_stock("GIFT-BOX", "W1", D(3))
    emu.set_stock("GIFT-BOX", "W2", D(4))
    emu.set_stock("GIFT-BOX", "W3", D(0))
    totals = client.get("/StockOnHand").json()["Items"]
    codes = [r["ProductCode"] for r in totals]
    assert "NEVER-MOVED" not in codes and "GIFT-PACK-BREW" not in codes  # never moved
    assert codes == sorted(codes)
    box = next(r for r in totals if r["ProductCode"] == "GIFT-BOX")
    assert box["QtyOnHand"] == 7.0 and box["Guid"] == box["ProductGuid"]
    assert box["WarehouseCode"] is None and box["WarehouseId"] is None
    w2 = client.get("/StockOnHand", warehouseCode="W2").json()["Items"]
    box_w2 = next(r for r in w2 if r["ProductCode"] == "GIFT-BOX")
    assert box_w2["QtyOnHand"] == 4.0 and box_w2["WarehouseCode"] == "W2" and box_w2["Warehouse"] == "Wellington Store"
    assert client.get("/StockOnHand", warehouseName="Wellington Store").json() == client.get("/StockOnHand", warehouseCode="W2").json()
    assert client.get("/StockOnHand", warehouseCode="NOPE").status_code == 400
    all_wh = client.get(f"/StockOnHand/{box['ProductGuid']}/AllWarehouses").json()["Items"]
    assert [(r["WarehouseCode"], r["QtyOnHand"]) for r in all_wh] == [("W1", 3.0), ("W2", 4.0), ("W3", 0.0)]
    single = client.get(f"/StockOnHand/{guid}").json()
    assert single["QtyOnHand"] == 0.0 and single["ProductCode"] == "NEVER-MOVED"
    assert client.get(f"/StockOnHand/{uuid.uuid4()}").status_code == 404


def test_stock_on_hand_modified_since_tracks_stock_and_allocation(start: Factory) -> None:
    emu, client = start()
    emu.clock.advance(600)
    cut = emu.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    emu.clock.advance(1)
    assert client.get("/StockOnHand", modifiedSince=cut).json()["Items"] == []
    emu.receive_stock("GIFT-BOX", "W1", D(2))
    body = order_body([("MUG-CERAMIC", "1", "18.00")], OrderStatus="Placed")  # Placed allocates
    client.post(f"/SalesOrders/{body['Guid']}", body)
    changed = client.get("/StockOnHand", modifiedSince=cut, warehouseCode="W1").json()["Items"]
    assert sorted(r["ProductCode"] for r in changed) == ["GIFT-BOX", "MUG-CERAMIC"]
    assert client.get("/StockOnHand", modifiedSince=cut, warehouseCode="W2").json()["Items"] == []
    mug = emu.product_by_code("MUG-CERAMIC")
    assert mug is not None
    only = client.get("/StockOnHand", productId=mug["Guid"]).json()["Items"]
    assert [r["ProductCode"] for r in only] == ["MUG-CERAMIC"]


def test_stock_adjustment_sets_absolute_quantity(start: Factory) -> None:
    emu, client = start()
    box = emu.product_by_code("GIFT-BOX")
    assert box is not None
    guid = str(uuid.uuid4())
    body = {
        "Guid": guid, "AdjustmentReason": "Stock received", "Warehouse": {"WarehouseCode": "W3"},
        "StockAdjustmentLines": [{"Product": {"ProductCode": "GIFT-BOX"}, "NewQuantity": 42, "NewActualValue": 126.0}],
    }
    created = client.post(f"/StockAdjustments/{guid}", body)
    assert created.status_code == 201 and created.json()["Status"] == "Completed"
    assert created.json()["AdjustmentNumber"].startswith("SA-")
    assert soh(client, "GIFT-BOX", emu, "W3")["QtyOnHand"] == 42.0
    assert client.get(f"/StockAdjustments/{guid}").json()["StockAdjustmentLines"][0]["NewQuantity"] == 42.0
    listed = client.get("/StockAdjustments", warehouseCode="W3", productCode="GIFT").json()["Items"]
    assert guid in [a["Guid"] for a in listed]
    bad = {**body, "Guid": None, "StockAdjustmentLines": [{"Product": {"ProductCode": "GIFT-BOX"}}]}
    assert client.post(f"/StockAdjustments/{uuid.uuid4()}", bad).status_code == 400


# --- auto-assembly ----------------------------------------------------------------------------------
@pytest.fixture
def shared_component(start: Factory) -> tuple[UnleashedEmulator, Client, dict[str, str]]:
    """Kit K = 1 sub-assembly S + 1 C + 1 E; S = 2 C + 1 D. C is used at both levels.

    With C=7, D=10, E=10: S alone can be built 3 times (C/2). Per-level summing would offer
    min(S=3, C=7, E=10) = 3 kits, but every kit really needs 3 C, so only 2 kits can be built.
    """
    emu, client = start(components_kit=False)
    guids = {code: emu.add_product(code, f"Part {code}", sell_price=D("5"))["Guid"] for code in ("C", "D", "E", "S", "K")}
    emu.add_bom(guids["S"], [(guids["C"], D(2)), (guids["D"], D(1))])
    emu.add_bom(guids["K"], [(guids["S"], D(1)), (guids["C"], D(1)), (guids["E"], D(1))])
    for code, qty in (("C", 7), ("D", 10), ("E", 10)):
        emu.set_stock(guids[code], "W1", D(qty))
    emu.set_stock(guids["C"], "W2", D(100))  # other warehouses never feed W1
    return emu, client, guids


def test_is_assembled_counts_a_shared_component_once(shared_component: tuple[UnleashedEmulator, Client, dict[str, str]]) -> None:
    emu, client, guids = shared_component
    plain = {r["ProductCode"]: r for r in client.get("/StockOnHand", warehouseCode="W1").json()["Items"]}
    assert "K" not in plain and "S" not in plain  # never moved, and no isAssembled
    rows = {r["ProductCode"]: r for r in client.get("/StockOnHand", warehouseCode="W1", isAssembled="true").json()["Items"]}
    assert rows["K"]["AvailableQty"] == 2.0 and rows["K"]["QtyOnHand"] == 0.0
    assert rows["S"]["AvailableQty"] == 3.0
    assert rows["C"]["AvailableQty"] == 7.0  # components report their own stock only
    assert emu.stock_on_hand(guids["K"], "W1", assembled=True)["AvailableQty"] == D(2)
    # Product totals add what each warehouse can build; W2 has C but no D/E.
    totals = {r["ProductCode"]: r for r in client.get("/StockOnHand", isAssembled="true").json()["Items"]}
    assert totals["K"]["AvailableQty"] == 2.0
    # Stock of the kit itself adds to what can be built.
    emu.set_stock(guids["K"], "W1", D(1))
    assert soh(client, "K", emu, isAssembled="true")["AvailableQty"] == 3.0
    assert soh(client, "K", emu)["AvailableQty"] == 1.0


def test_allocated_components_reduce_buildable_kits(shared_component: tuple[UnleashedEmulator, Client, dict[str, str]]) -> None:
    emu, client, _ = shared_component
    body = order_body([("C", "4", "5.00")], OrderStatus="Placed")
    client.post(f"/SalesOrders/{body['Guid']}", body)
    # C available = 7 - 4 = 3: one kit (3 C) at most.
    assert soh(client, "K", emu, isAssembled="true")["AvailableQty"] == 1.0


def test_completing_a_kit_order_auto_assembles_through_both_levels(shared_component: tuple[UnleashedEmulator, Client, dict[str, str]]) -> None:
    emu, client, guids = shared_component
    body = order_body([("K", "2", "60.00")])
    client.post(f"/SalesOrders/{body['Guid']}", body)
    done = client.post(f"/SalesOrders/{body['Guid']}/Complete")
    assert done.status_code == 200, done.text
    levels = {code: emu.stock_on_hand(guids[code], "W1")["QtyOnHand"] for code in ("C", "D", "E", "S", "K")}
    assert levels == {"C": D(1), "D": D(8), "E": D(8), "S": D(0), "K": D(0)}
    third = order_body([("K", "1", "60.00")])
    client.post(f"/SalesOrders/{third['Guid']}", third)
    short = client.post(f"/SalesOrders/{third['Guid']}/Complete")
    assert short.status_code == 400 and "available 0" in short.json()["Items"][0]["Message"]
    assert emu.stock_on_hand(guids["C"], "W1")["QtyOnHand"] == D(1)  # nothing consumed by the failed try


def test_order_for_kit_and_its_component_takes_component_first(shared_component: tuple[UnleashedEmulator, Client, dict[str, str]]) -> None:
    emu, client, guids = shared_component
    # 4 C sold directly leaves 3 C: exactly one kit can still be assembled.
    body = order_body([("K", "1", "60.00"), ("C", "4", "5.00")])
    client.post(f"/SalesOrders/{body['Guid']}", body)
    assert client.post(f"/SalesOrders/{body['Guid']}/Complete").status_code == 200
    assert emu.stock_on_hand(guids["C"], "W1")["QtyOnHand"] == D(0)
    over = order_body([("K", "1", "60.00")])
    client.post(f"/SalesOrders/{over['Guid']}", over)
    assert client.post(f"/SalesOrders/{over['Guid']}/Complete").status_code == 400


def test_bill_of_materials_api(start: Factory) -> None:
    emu, client = start()
    kit = emu.product_by_code("GIFT-PACK-BREW")
    assert kit is not None
    listed = client.get("/BillOfMaterials", productGuid=kit["Guid"]).json()["Items"]
    assert len(listed) == 1 and listed[0]["CanAutoAssemble"] is True
    assert [ln["Product"]["ProductCode"] for ln in listed[0]["BillOfMaterialsLines"]] == ["BREW-SET", "COFFEE-BEANS-1KG", "MUG-CERAMIC", "GIFT-BOX"]
    duplicate = client.post(f"/BillOfMaterials/{uuid.uuid4()}", {"Product": {"Guid": kit["Guid"]}, "BillOfMaterialsLines": [{"Product": {"ProductCode": "GIFT-BOX"}, "Quantity": 1}]})
    assert duplicate.status_code == 400
    new_kit = emu.add_product("MUG-PAIR", "Pair of mugs", sell_price=D("30"))
    guid = str(uuid.uuid4())
    created = client.post(f"/BillOfMaterials/{guid}", {"Product": {"ProductCode": "MUG-PAIR"}, "CanAutoAssemble": True, "BillOfMaterialsLines": [{"Product": {"ProductCode": "MUG-CERAMIC"}, "Quantity": 2}]})
    assert created.status_code == 201
    assert emu.get_product(new_kit["Guid"])["IsAssembledProduct"] is True  # type: ignore[index]
    mugs = emu.stock_on_hand("MUG-CERAMIC", "W1")["AvailableQty"]
    assert emu.stock_on_hand("MUG-PAIR", "W1", assembled=True)["AvailableQty"] == mugs // 2
    turned_off = client.put(f"/BillOfMaterials/{guid}", {"CanAutoAssemble": False})
    assert turned_off.status_code == 200 and turned_off.json()["CanAutoAssemble"] is False
    assert emu.stock_on_hand("MUG-PAIR", "W1", assembled=True)["AvailableQty"] == 0
    cycle = client.put(f"/BillOfMaterials/{guid}", {"BillOfMaterialsLines": [{"Product": {"ProductCode": "MUG-PAIR"}, "Quantity": 1}]})
    assert cycle.status_code == 400
    zero = client.put(f"/BillOfMaterials/{guid}", {"BillOfMaterialsLines": [{"Product": {"ProductCode": "MUG-CERAMIC"}, "Quantity": 0}]})
    assert zero.status_code == 400
