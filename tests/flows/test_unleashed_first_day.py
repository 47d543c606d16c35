"""A retailer's first day against an empty Unleashed: opening stock, non-stock products, sales
completed where stock allows at one call each, parked at two when short, line discounts on the
lines (issue 13, items 2, 3, 6 and 7)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from tillbridge import services

from .shopkit import Shop

ADJUST = "POST /StockAdjustments/{id}"
FROM_POS = "Opening stock from Lightspeed"


def first_day(shop_factory: Callable[..., Shop], **settings: Any) -> Shop:
    shop = shop_factory(ls_options={"products": 12, "customers": 3, "outlets": 2})
    shop.map({0: "W1", 1: "W2"})
    if settings:
        shop.settings(**settings)
    return shop


def pos_level(shop: Shop, product: dict[str, Any], outlet: int) -> Decimal:
    return shop.ls.inventory_level(product["id"], shop.outlet(outlet)["id"])


def test_opening_stock_reaches_each_mapped_warehouse_once_with_its_value(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    tracked = [p for p in shop.sellable() if pos_level(shop, p, 0) > 2]
    assert tracked, "the seed gives products stock"
    sold_before = shop.sell(0, [(tracked[0], 2)])  # closed before the connection: imported too
    results = shop.sync()
    opening = results["opening_stock"]
    assert opening.status == "ok" and opening.failed == 0 and opening.created > 0
    line = services.describe(shop.app, shop.name, opening)
    assert "opening stock:" in line and "products" in line and "2 warehouses" in line

    # The POS's past sales were imported after the opening stock (which counted them in): both
    # systems now hold the same (a negative POS count is no stock in Unleashed).
    assert results["sales"].created == 1
    assert shop.order_for(sold_before)["OrderStatus"] == "Completed"  # type: ignore[index]
    for product in tracked:
        ul = shop.ul.product_by_code(product["sku"])
        assert ul is not None and ul["NeverDiminishing"] is False
        for outlet, code in ((0, "W1"), (1, "W2")):
            numbers = shop.ul.stock_on_hand(ul["Guid"], shop.warehouse(code)["Guid"])
            pos = pos_level(shop, product, outlet)
            if pos >= 0:
                assert numbers["QtyOnHand"] == pos, (product["sku"], code)
        # Valued at the POS's average cost: Unleashed's average landed cost is the POS's.
        assert Decimal(str(ul["AverageLandPrice"])) == Decimal(str(product["supply_price"])).quantize(Decimal("0.0001"))
    adjustments = [a for a in shop.ul.state.adjustments.values() if a["StockAdjustmentLines"][0]["Comments"] == FROM_POS]
    assert len(adjustments) == opening.created

    # A re-run, and a run after the cursor is lost (a crash), count nothing twice.
    shop.ul.stats.reset()
    again = shop.sync("opening_stock")["opening_stock"]
    shop.app.store.reset_cursor(shop.conn_id, "opening_stock")
    lost = shop.sync("opening_stock")["opening_stock"]
    assert again.created == lost.created == 0 and shop.ul.stats.count(ADJUST) == 0
    assert len([a for a in shop.ul.state.adjustments.values() if a["StockAdjustmentLines"][0]["Comments"] == FROM_POS]) == len(adjustments)


def test_a_second_worker_posting_the_same_opening_stock_is_refused_not_counted(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    shop.sync()
    [adjustment, *_] = [a for a in shop.ul.state.adjustments.values() if a["StockAdjustmentLines"][0]["Comments"] == FROM_POS]
    product = adjustment["StockAdjustmentLines"][0]["Product"]["Guid"]
    warehouse = adjustment["Warehouse"]["Guid"]
    before = shop.ul.stock_on_hand(product, warehouse)["QtyOnHand"]
    # Another worker that never saw the binding: same level, same Guid.
    with shop.app.store.session() as s:
        from sqlmodel import delete

        from tillbridge.storage.models import Binding

        s.exec(delete(Binding).where(Binding.entity_type == "stock"))  # type: ignore[arg-type]
        s.commit()
    shop.app.store.reset_cursor(shop.conn_id, "opening_stock")
    rerun = shop.sync("opening_stock")["opening_stock"]
    assert rerun.failed == 0 and rerun.created == 0
    assert shop.ul.stock_on_hand(product, warehouse)["QtyOnHand"] == before


def test_opening_stock_can_be_left_out(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory, import_opening_stock=False)
    results = shop.sync()
    assert "opening_stock" not in results
    assert shop.ul.stats.count(ADJUST) == 0


def test_a_product_that_tracks_no_stock_is_never_diminishing_and_gets_no_opening_stock(
        shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    service = shop.ls.create_product("Gift wrapping", "WRAP-1", Decimal("5.00"), has_inventory=False)
    shop.ls.set_inventory(service["id"], shop.outlet(0)["id"], Decimal(7))  # the POS keeps a number anyway
    results = shop.sync()
    assert results["opening_stock"].failed == 0
    ul = shop.ul.product_by_code("WRAP-1")
    assert ul is not None and ul["NeverDiminishing"] is True
    w1 = shop.warehouse("W1")["Guid"]
    assert shop.ul.stock_on_hand(ul["Guid"], w1)["QtyOnHand"] == 0
    # Its sales never wait for stock: completed at once.
    sale = shop.sell(0, [(service, 3)])
    shop.sync("sales")
    order = shop.order_for(sale)
    assert order is not None and order["OrderStatus"] == "Completed"


def test_sales_complete_in_one_call_and_a_short_one_parks_in_two(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    stocked = next(p for p in shop.sellable() if pos_level(shop, p, 0) >= 2)
    empty = next(p for p in shop.sellable() if p["sku"] != stocked["sku"])
    shop.ls.set_inventory(empty["id"], shop.outlet(0)["id"], Decimal(0))
    shop.sync()  # products, opening stock, everything
    normal = shop.sell(0, [(stocked, 1)])
    short = shop.sell(0, [(empty, 2)])
    shop.ul.stats.reset()
    result = shop.sync("sales")["sales"]
    assert result.created == 2 and result.failed == 0
    assert shop.order_for(normal)["OrderStatus"] == "Completed"  # type: ignore[index]
    parked = shop.order_for(short)
    assert parked is not None and parked["OrderStatus"] == "Parked"
    routes = shop.ul.stats.as_dict()["by_route"]
    orders = {k: v for k, v in routes.items() if "SalesOrders" in k}
    # normal: POST Completed (1); short: POST Parked + POST Complete (2, the latter allocates).
    assert orders == {"POST /SalesOrders/{id}": 2, "POST /SalesOrders/{id}/Complete": 1}, orders
    assert shop.ul.stock_on_hand(parked["SalesOrderLines"][0]["Product"]["Guid"],
                                 shop.warehouse("W1")["Guid"])["AllocatedQty"] == 2


def test_line_discounts_go_to_the_line_discount_rate(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    shop.sync()
    product = next(p for p in shop.sellable() if pos_level(shop, p, 0) >= 3)
    price = Decimal(str(product["price_excluding_tax"]))
    sale = shop.ls.ring_up_sale(shop.outlet(0)["id"], [
        {"product_id": product["id"], "quantity": Decimal(3), "discount": price / 4}])
    shop.sync("sales")
    order = shop.order_for(sale)
    assert order is not None
    codes = [(ln["Product"] or {}).get("ProductCode") for ln in order["SalesOrderLines"]]
    assert "DISCOUNT" not in codes, codes
    [line] = order["SalesOrderLines"]
    assert Decimal(str(line["DiscountRate"])) == Decimal("0.25")
    assert Decimal(str(line["UnitPrice"])) == price
    paid = (Decimal(str(sale["total_price"])) + Decimal(str(sale["total_tax"]))).quantize(Decimal("0.01"))
    assert Decimal(str(order["Total"])) == paid


def test_a_connection_already_importing_sales_takes_no_opening_stock_for_its_old_products(
        shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory, import_opening_stock=False)
    shop.sync()  # products and sales were imported before the opening stock existed (or was on)
    shop.settings(import_opening_stock=True)
    newcomer = shop.ls.create_product("Limited Edition Mug", "MUG-LTD-1", Decimal("19.00"))
    shop.ls.set_inventory(newcomer["id"], shop.outlet(0)["id"], Decimal(6))
    shop.ul.stats.reset()
    results = shop.sync()
    assert results["opening_stock"].created == 1  # only the product imported from now on
    assert shop.ul.stats.count(ADJUST) == 1
    ul = shop.ul.product_by_code("MUG-LTD-1")
    assert ul is not None and shop.ul.stock_on_hand(ul["Guid"], shop.warehouse("W1")["Guid"])["QtyOnHand"] == 6


def test_an_opening_stock_refused_is_logged_and_taken_in_by_reimport(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    shop.sync("products")
    w1 = shop.warehouse("W1")["Guid"]
    with shop.ul.lock:
        shop.ul.state.warehouses[w1]["Obsolete"] = True  # refuses stock until it is in use again
    first = shop.sync("opening_stock")["opening_stock"]
    assert first.failed > 0 and first.created > 0  # W2's levels went in
    [entry, *_] = shop.log(levels=["error"])
    assert "Unleashed refused" in entry.message and "@" in (entry.record_key or "")
    with shop.ul.lock:
        shop.ul.state.warehouses[w1]["Obsolete"] = False
    [again] = services.reimport(shop.app, shop.name, entity="stock")
    assert again.created == first.failed and again.failed == 0
    assert shop.open_entries() == []
    product = next(p for p in shop.sellable() if pos_level(shop, p, 0) > 0)
    ul = shop.ul.product_by_code(product["sku"])
    assert ul is not None and shop.ul.stock_on_hand(ul["Guid"], w1)["QtyOnHand"] == pos_level(shop, product, 0)


def test_an_opening_stock_whose_answer_was_lost_is_not_counted_twice(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    shop.sync("products")
    shop.ul.set_faults(lost_response_rate=1.0)  # the adjustment is made, its answer never arrives
    lost = shop.sync("opening_stock")["opening_stock"]
    assert lost.status == "failed" and lost.created == 0
    shop.ul.clear_faults()
    made = len(shop.ul.state.adjustments)
    rerun = shop.sync("opening_stock")["opening_stock"]
    assert rerun.status == "ok" and rerun.failed == 0
    assert len(shop.ul.state.adjustments) == made + rerun.created  # the lost one was not made again
    for product in shop.sellable():
        ul = shop.ul.product_by_code(product["sku"])
        pos = pos_level(shop, product, 0)
        if ul is not None and pos >= 0:
            assert shop.ul.stock_on_hand(ul["Guid"], shop.warehouse("W1")["Guid"])["QtyOnHand"] == pos


def test_stock_received_in_unleashed_before_the_opening_stock_is_kept(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory)
    shop.sync("products")
    product = next(p for p in shop.sellable() if pos_level(shop, p, 0) > 0)
    ul = shop.ul.product_by_code(product["sku"])
    assert ul is not None
    w1 = shop.warehouse("W1")["Guid"]
    shop.ul.receive_stock(ul["Guid"], w1, Decimal(100), unit_cost=Decimal(2))
    assert shop.sync("opening_stock")["opening_stock"].failed == 0
    assert shop.ul.stock_on_hand(ul["Guid"], w1)["QtyOnHand"] == 100 + pos_level(shop, product, 0)


def test_a_shortage_not_known_beforehand_costs_three_calls_once(shop_factory: Callable[..., Shop]) -> None:
    shop = first_day(shop_factory, import_opening_stock=False)  # Unleashed holds nothing, unknown to us
    shop.sync()
    product = shop.sellable()[0]
    first, second = shop.sell(0, [(product, 1)]), shop.sell(0, [(product, 1)])
    shop.ul.stats.reset()
    result = shop.sync("sales")["sales"]
    assert (result.created, result.warned) == (2, 2)
    assert shop.order_for(first)["OrderStatus"] == shop.order_for(second)["OrderStatus"] == "Parked"  # type: ignore[index]
    routes = shop.ul.stats.as_dict()["by_route"]
    # first: Completed refused, Parked, Complete (3); second: known short now, Parked + Complete (2)
    assert (routes["POST /SalesOrders/{id}"], routes["POST /SalesOrders/{id}/Complete"]) == (3, 2)
