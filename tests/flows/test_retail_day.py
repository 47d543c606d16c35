"""Acceptance of issue 4: a retailer's day on the emulators, flow by flow.

Four Lightspeed outlets, four Unleashed warehouses; three outlets are mapped, the fourth is not
(yet). Every assertion reads what the remote systems hold (through the emulators' Python API)
and what the connection log says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

from tillbridge import services

from .shopkit import Shop

CENT = Decimal("0.01")


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def lines_by_code(order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ln["Product"]["ProductCode"]: ln for ln in order["SalesOrderLines"]}


def assert_totals_add_up(order: dict[str, Any], sale: dict[str, Any]) -> None:
    """The order's Total is what the customer paid, and its totals are the sums of its lines."""
    assert cents(order["Total"]) == cents(Decimal(str(sale["total_price"])) + Decimal(str(sale["total_tax"])))
    assert sum(cents(ln["LineTotal"]) for ln in order["SalesOrderLines"]) == cents(order["SubTotal"])
    assert sum(cents(ln["LineTax"]) for ln in order["SalesOrderLines"]) == cents(order["TaxTotal"])
    assert cents(order["SubTotal"]) + cents(order["TaxTotal"]) == cents(order["Total"])


@pytest.fixture
def day_shop(shop_factory: Callable[..., Shop]) -> Shop:
    shop = shop_factory(ls_options={"outlets": 4}, ul_options={"warehouses": 4})
    shop.map({0: "W1", 1: "W2", 2: "W3"})  # outlet 3 stays unmapped until the afternoon
    # This retailer counts its stock in Unleashed (received below), not from the POS: the
    # opening stock is left out (tests/flows/test_unleashed_first_day.py covers it).
    shop.settings(import_opening_stock=False)
    return shop


def test_a_retailers_day(day_shop: Shop) -> None:  # noqa: PLR0915 (one story, told in order)
    shop, ls, ul = day_shop, day_shop.ls, day_shop.ul
    outlets = [shop.outlet(i) for i in range(4)]

    # --- morning: the first import (exports still off, as the help centre advises) ------------
    first = shop.sync()
    assert set(first) == {"products", "customers", "sales"}
    pos_products = shop.pos_products()
    assert first["products"].created == len(pos_products) and first["products"].failed == 0
    for p in pos_products:
        twin = ul.product_by_code(p["sku"])
        assert twin is not None, p["sku"]
        assert cents(twin["DefaultSellPrice"]) == cents(p["price_excluding_tax"])
    assert ul.product_by_code("vend-discount") is None  # Lightspeed's system product is not a product
    assert first["customers"].created == len(ls.customers())
    assert {c["customer_code"] for c in ls.customers()} <= {c["CustomerCode"] for c in ul.customers()}
    assert shop.log(levels=["error", "warning"]) == []

    # --- Unleashed receives stock, a wholesale order allocates some; exports are switched on -
    a, b, c, d, short = shop.sellable()[:5]
    for p in (a, b, c, d):
        for w in ("W1", "W2", "W3", "W4"):
            ul.receive_stock(p["sku"], w, Decimal(10))
    ul.receive_stock(short["sku"], "W3", Decimal(1))
    wholesale = ul.create_sales_order({
        "OrderStatus": "Placed", "Customer": {"CustomerCode": ul.customers()[0]["CustomerCode"]},
        "Warehouse": {"WarehouseCode": "W1"},
        "SalesOrderLines": [{"LineNumber": 1, "Product": {"ProductCode": d["sku"]}, "OrderQuantity": 4,
                             "UnitPrice": 10, "LineTotal": 40, "LineTax": 6}],
        "SubTotal": 40, "TaxTotal": 6, "Total": 46})
    assert wholesale["OrderStatus"] == "Placed"
    shop.settings(sales_group="retail", export_products=True, export_stock=True, include_assembled=True)
    ls.stats.reset()
    second = shop.sync()

    # export_products: the kit range Unleashed seeds is created in Lightspeed; products that
    # came from Lightspeed are recognised as its own and not sent back.
    kit_codes = {"GIFT-PACK-BREW", "BREW-SET", "COFFEE-BEANS-1KG", "MUG-CERAMIC", "FILTER-PAPERS-100",
                 "POUR-OVER-CONE", "GIFT-BOX"}
    assert second["export_products"].created == len(kit_codes)
    assert second["export_products"].unchanged == len(pos_products)
    assert second["products"].created == 0  # the kits created in Lightspeed do not echo back
    kit = ls.product_by_sku("GIFT-PACK-BREW")
    assert kit is not None and ls.stats.count("POST /api/2.0/products") == len(kit_codes)

    # stock: Available = on hand − allocated, kits with what auto-assembly could build.
    for index, code in enumerate(("W1", "W2", "W3")):
        outlet = outlets[index]["id"]
        assert ls.inventory_level(a["id"], outlet) == 10
        expected_kit = ul.stock_on_hand("GIFT-PACK-BREW", code, assembled=True)["AvailableQty"]
        assert expected_kit > 0
        assert ls.inventory_level(kit["id"], outlet) == expected_kit
    assert ls.inventory_level(d["id"], outlets[0]["id"]) == 10 - 4  # the wholesale order's allocation
    assert ls.inventory_level(d["id"], outlets[1]["id"]) == 10
    puts = ls.stats.count("PUT /api/2.1/products/{id}")
    # One request per product, also for a product with stock in some warehouses only ("short":
    # W3 only): its other outlets are known to be 0 once the whole read is done, and the stock
    # export's pages are gathered (push_gather) so they go in the same request.
    assert puts == len({lvl.split("@")[0] for lvl in _stock_bindings(shop)})
    assert second["stock"].updated > puts  # ... carrying several outlets each

    # --- the day at the tills ------------------------------------------------------------------
    customer = ls.customers()[0]
    sale_discounted = ls.ring_up_sale(outlets[0]["id"], [
        {"product_id": a["id"], "quantity": Decimal(2), "discount": Decimal("1.00")},
        {"product_id": b["id"], "quantity": Decimal(1)}], customer_id=customer["id"])
    sale_walk_in = ls.ring_up_sale(outlets[1]["id"], [{"product_id": c["id"], "quantity": Decimal(1)}],
                                   discount_total=Decimal("2.50"))
    sale_kit = ls.ring_up_sale(outlets[2]["id"], [{"product_id": kit["id"], "quantity": Decimal(1)}])
    sale_short = ls.ring_up_sale(outlets[2]["id"], [{"product_id": short["id"], "quantity": Decimal(3)}])
    sale_voided = ls.ring_up_sale(outlets[0]["id"], [{"product_id": b["id"], "quantity": Decimal(1)}])
    ls.void_sale(sale_voided["id"])
    sale_return = ls.return_sale(sale_discounted["id"])
    sale_unmapped = ls.ring_up_sale(outlets[3]["id"], [{"product_id": a["id"], "quantity": Decimal(1)}])
    new_product = ls.create_product("Limited Edition Mug", "MUG-LTD-1", Decimal("19.00"))
    sale_unknown = ls.ring_up_sale(outlets[1]["id"], [{"product_id": new_product["id"], "quantity": Decimal(1)},
                                                      {"product_id": c["id"], "quantity": Decimal(1)}])

    # The sales flow runs more often than the products flow: it meets the new product first.
    sales = shop.sync("sales")["sales"]
    assert (sales.created, sales.skipped, sales.held, sales.failed) == (4, 2, 2, 0)
    assert sales.warned == 1  # the short sale is parked

    order = shop.order_for(sale_discounted)
    assert order is not None and order["OrderStatus"] == "Completed"
    assert order["Warehouse"]["WarehouseCode"] == "W1"
    assert order["Customer"]["CustomerCode"] == customer["customer_code"]
    assert order["SalesOrderGroup"] == "Retail"
    by_code = lines_by_code(order)
    assert cents(by_code[a["sku"]]["UnitPrice"]) == cents(a["price_excluding_tax"])  # list price
    assert "DISCOUNT" not in by_code  # 1.00 off each is the line's discount rate
    assert cents(by_code[a["sku"]]["LineTotal"]) == cents(2 * (Decimal(str(a["price_excluding_tax"])) - 1))
    assert_totals_add_up(order, sale_discounted)

    order = shop.order_for(sale_walk_in)
    assert order is not None and order["Customer"]["CustomerCode"] == "WALKIN"
    assert order["Warehouse"]["WarehouseCode"] == "W2"
    assert cents(lines_by_code(order)["DISCOUNT"]["LineTotal"]) == Decimal("-2.50")
    assert_totals_add_up(order, sale_walk_in)

    order = shop.order_for(sale_kit)
    assert order is not None and order["OrderStatus"] == "Completed"  # auto-assembled from components
    assert_totals_add_up(order, sale_kit)

    order = shop.order_for(sale_short)
    assert order is not None and order["OrderStatus"] == "Parked"
    assert ul.stock_on_hand(short["sku"], "W3")["AllocatedQty"] > 0
    parked = [e for e in shop.log(levels=["warning"]) if e.record_key == sale_short["invoice_number"]]
    assert len(parked) == 1 and "parked" in parked[0].message

    for sale, word in ((sale_voided, "voided"), (sale_return, "return")):
        assert shop.order_for(sale) is None
        entry = [e for e in shop.log(levels=["info"]) if e.record_key == sale["invoice_number"]]
        assert len(entry) == 1 and word in entry[0].message

    held = {e.record_key: e for e in shop.open_entries()}
    assert set(held) == {sale_unmapped["invoice_number"], sale_unknown["invoice_number"]}
    unmapped = held[sale_unmapped["invoice_number"]]
    assert unmapped.category == "held" and outlets[3]["name"] in unmapped.message
    assert "tillbridge map" in (unmapped.fix or "")
    unknown = held[sale_unknown["invoice_number"]]
    assert "product 'MUG-LTD-1'" in unknown.message and new_product["id"] not in unknown.message  # codes, not ids
    assert f"`tillbridge reimport --record {sale_unknown['invoice_number']} -c {shop.name}`" in (unknown.fix or "")
    assert shop.order_for(sale_unmapped) is None and shop.order_for(sale_unknown) is None

    # --- afternoon: the next full sync imports the new product; held sales wait for reimport --
    third = shop.sync()
    assert third["products"].created == 1 and ul.product_by_code("MUG-LTD-1") is not None
    assert third["sales"].created == 0
    assert len(shop.open_entries()) == 2

    # The causes are fixed: the fourth outlet is mapped, the product exists. Re-import.
    services.map_outlet(shop.app, shop.name, outlets[3]["name"], "W4")
    results = services.reimport(shop.app, shop.name)
    assert [(r.flow, r.created) for r in results] == [("sales", 2)]
    assert shop.open_entries() == []
    assert shop.order_for(sale_unmapped)["Warehouse"]["WarehouseCode"] == "W4"  # type: ignore[index]
    assert_totals_add_up(shop.order_for(sale_unknown), sale_unknown)  # type: ignore[arg-type]
    assert {e.record_key for e in shop.log(levels=["warning"], entity_type="sale") if e.resolved_at} == set(held)
    # Stock now goes to the fourth outlet too.
    shop.sync("stock")
    assert ls.inventory_level(a["id"], outlets[3]["id"]) == 10 - 1  # W4's 10, less the re-imported sale

    # --- no sale is ever imported twice ----------------------------------------------------------
    orders = len(ul.sales_orders())
    assert services.reimport(shop.app, shop.name) == []
    again = shop.sync()["sales"]
    assert again.created == 0
    since = services.parse_date(sale_discounted["sale_date"][:10])
    reread = services.import_since(shop.app, shop.name, "sale", since)
    assert reread.fetched >= 8 and reread.created == 0
    assert len(ul.sales_orders()) == orders == 7
    refs = [o["CustomerRef"] for o in ul.sales_orders()]
    assert len(refs) == len(set(refs))

    # --- edits on both sides ---------------------------------------------------------------------
    ls.update_product(a["id"], price_excluding_tax=Decimal("55.00"), name="Renamed in Lightspeed")
    ls.update_customer(customer["id"], email="new.address@example.co.nz")
    kit_price = ls.get_product(kit["id"])["price_excluding_tax"]  # type: ignore[index]
    ul.update_product("GIFT-PACK-BREW", DefaultSellPrice=Decimal("95.00"))
    other = ls.customers()[1]  # edited in Unleashed (the same record edited on both sides: the POS wins)
    assert other["id"] != customer["id"]
    ul_customer = ul.customer_by_code(other["customer_code"])
    shop.settings(export_customers=True)
    ul.add_customer(ul_customer["CustomerCode"], ul_customer["CustomerName"], guid=ul_customer["Guid"],
                    PhoneNumber="021 555 0101")
    edits = shop.sync()
    assert edits["products"].updated == 1
    assert ul.product_by_code(a["sku"])["ProductDescription"] == "Renamed in Lightspeed"  # type: ignore[index]
    assert cents(ul.product_by_code(a["sku"])["DefaultSellPrice"]) == Decimal("55.00")  # type: ignore[index]
    assert edits["customers"].updated == 1
    assert ul.customer_by_code(customer["customer_code"])["Email"] == "new.address@example.co.nz"  # type: ignore[index]
    # Lightspeed is the product master (the default): an Unleashed price edit does not reach it.
    assert edits["export_products"].written == 0 and edits["export_products"].unchanged >= 1
    assert ls.get_product(kit["id"])["price_excluding_tax"] == kit_price  # type: ignore[index]
    assert edits["export_customers"].updated == 1
    assert next(x for x in ls.customers() if x["id"] == other["id"])["phone"] == "021 555 0101"
    # ... and nothing ping-pongs: the next sync writes nothing anywhere.
    quiet = shop.sync()
    assert {name: r.written for name, r in quiet.items()} == {name: 0 for name in quiet}

    # --- what the log says at the end of the day --------------------------------------------------
    assert shop.log(levels=["error"]) == []
    assert shop.open_entries() == []
    kinds = {(e.flow, e.category) for e in shop.log()}
    assert {("sales", "skipped"), ("sales", "held"), ("sales", "note")} <= kinds


def _stock_bindings(shop: Shop) -> list[str]:
    from sqlmodel import select

    from tillbridge.storage.models import Binding

    with shop.app.store.session() as s:
        rows = s.exec(select(Binding.source_id).where(Binding.connection_id == shop.conn_id,
                                                      Binding.entity_type == "stock"))
        return list(rows)
