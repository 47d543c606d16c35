"""Issue 13's acceptance, as a new retailer meets it: from an empty Unleashed, against the strict
emulators (every request body checked against the vendors' schemas), one scenario end to end.

connect, map, first sync → products with their opening stock, service products non-stock, sales
completed where stock allows; then the exports on → a new Unleashed product reaches Lightspeed,
every mapped Lightspeed level equals Unleashed's available (zeros included); then a quiet sync
writes nothing at all, counted on both emulators by method and route.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from .shopkit import Shop

WRITES = ("POST ", "PUT ", "PATCH ", "DELETE ")


def writes(shop: Shop) -> dict[str, int]:
    out = {}
    for name, emulator in (("lightspeed", shop.ls), ("unleashed", shop.ul)):
        for route, n in emulator.stats.as_dict()["by_route"].items():
            if route.startswith(WRITES):
                out[f"{name} {route}"] = n
    return out


def test_a_new_retailers_first_day_from_an_empty_unleashed(shop_factory: Callable[..., Shop]) -> None:
    shop = shop_factory(ls_options={"products": 16, "customers": 4, "outlets": 3})
    assert shop.ul.products() == [] or all(p["ProductCode"] not in {q["sku"] for q in shop.pos_products()}
                                           for p in shop.ul.products())
    shop.map({0: "W1", 1: "W2"})  # the third outlet stays unmapped
    service = shop.ls.create_product("Gift wrapping", "WRAP-SVC", Decimal("4.50"), has_inventory=False)

    first = shop.sync()
    assert all(r.failed == 0 for r in first.values()), shop.log(levels=["error"])
    assert first["opening_stock"].created > 0

    # Products with their opening stock (per mapped outlet → warehouse); the service is non-stock.
    tracked = [p for p in shop.sellable() if p["sku"] != "WRAP-SVC" and not p.get("is_composite")]
    for product in tracked:
        ul = shop.ul.product_by_code(product["sku"])
        assert ul is not None, product["sku"]
        for outlet, code in ((0, "W1"), (1, "W2")):
            pos = shop.ls.inventory_level(product["id"], shop.outlet(outlet)["id"])
            held = shop.ul.stock_on_hand(ul["Guid"], shop.warehouse(code)["Guid"])["QtyOnHand"]
            assert held == max(pos, Decimal(0)), (product["sku"], code)
    wrap = shop.ul.product_by_code("WRAP-SVC")
    assert wrap is not None and wrap["NeverDiminishing"] is True

    # Sales that stock allows complete; a service line never waits for stock.
    stocked = next(p for p in tracked if shop.ls.inventory_level(p["id"], shop.outlet(0)["id"]) >= 2)
    sales = [shop.sell(0, [(stocked, 1)]), shop.sell(1, [(service, 1)]), shop.sell(0, [(stocked, 1), (service, 2)])]
    shop.ul.stats.reset()
    assert shop.sync("sales")["sales"].created == 3
    assert [shop.order_for(s)["OrderStatus"] for s in sales] == ["Completed"] * 3  # type: ignore[index]
    assert shop.ul.stats.count("POST /SalesOrders") == 3  # one call a sale

    # The exports on: a product made in Unleashed reaches Lightspeed (a number for its price).
    shop.ul.add_product("NEW-KETTLE", "Stovetop kettle", sell_price=Decimal("39.90"))
    shop.settings(export_products=True, export_customers=True, export_stock=True)
    exported = shop.sync()
    assert all(r.failed == 0 for r in exported.values()), shop.log(levels=["error"])
    kettle = shop.ls.product_by_sku("NEW-KETTLE")
    assert kettle is not None and Decimal(str(kettle["price_excluding_tax"])) == Decimal("39.90")

    # Every mapped Lightspeed level equals Unleashed's available, zeros included.
    for product in tracked + [kettle]:
        ul = shop.ul.product_by_code(product["sku"])
        assert ul is not None
        for outlet, code in ((0, "W1"), (1, "W2")):
            available = shop.ul.stock_on_hand(ul["Guid"], shop.warehouse(code)["Guid"])["AvailableQty"]
            assert shop.ls.inventory_level(product["id"], shop.outlet(outlet)["id"]) == available, (
                product["sku"], code)

    # A quiet sync after that makes no write at all, in either direction.
    for emulator in (shop.ls, shop.ul):
        emulator.stats.reset()
    quiet = shop.sync()
    assert writes(shop) == {}, writes(shop)
    assert all(r.created == r.updated == r.failed == 0 for r in quiet.values())
