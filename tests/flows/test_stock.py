"""Stock on hand exported to Lightspeed: Available = on hand − allocated, kits, changes only,
one request per product, and never putting back what a till has just sold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

from tillbridge import services

from .shopkit import Shop

PUT_PRODUCT = "PUT /api/2.1/products/{id}"


@pytest.fixture
def stock_shop(shop_factory: Callable[..., Shop]) -> Shop:
    shop = shop_factory(ls_options={"products": 8, "customers": 2})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.settings(import_opening_stock=False)  # the stock of these tests is received in Unleashed
    shop.sync()
    return shop


def levels(shop: Shop, product: dict[str, Any]) -> list[Decimal]:
    return [shop.ls.inventory_level(product["id"], shop.outlet(i)["id"]) for i in range(3)]


def test_available_is_on_hand_less_allocated_and_only_changed_levels_are_sent(stock_shop: Shop) -> None:
    shop, ls, ul = stock_shop, stock_shop.ls, stock_shop.ul
    a, b = shop.sellable()[:2]
    for p in (a, b):
        for w in ("W1", "W2", "W3"):
            ul.receive_stock(p["sku"], w, Decimal(10))
    shop.settings(export_stock=True)
    ls.stats.reset()
    first = shop.sync("stock")["stock"]
    assert levels(shop, a) == levels(shop, b) == [10, 10, 10]
    # The other products never moved in Unleashed (no stock-on-hand row): Available 0 there.
    tracked = shop.sellable()
    assert all(levels(shop, p) == [0, 0, 0] for p in tracked if p not in (a, b))
    # One request per product, its outlets together.
    assert (first.updated, ls.stats.count(PUT_PRODUCT)) == (3 * len(tracked), len(tracked))

    ul.create_sales_order({
        "OrderStatus": "Placed", "Customer": {"CustomerCode": ul.customers()[0]["CustomerCode"]},
        "Warehouse": {"WarehouseCode": "W2"},
        "SalesOrderLines": [{"LineNumber": 1, "Product": {"ProductCode": a["sku"]}, "OrderQuantity": 3,
                             "UnitPrice": 5, "LineTotal": 15, "LineTax": Decimal("2.25")}],
        "SubTotal": 15, "TaxTotal": Decimal("2.25"), "Total": Decimal("17.25")})
    assert ul.stock_on_hand(a["sku"], "W2")["AllocatedQty"] == 3
    ls.stats.reset()
    second = shop.sync("stock")["stock"]
    assert levels(shop, a) == [10, 7, 10]  # on hand 10 − allocated 3
    assert (second.updated, ls.stats.count(PUT_PRODUCT)) == (1, 1)

    ls.stats.reset()
    third = shop.sync("stock")["stock"]
    assert third.written == 0 and ls.stats.count(PUT_PRODUCT) == 0


def test_include_assembled_counts_buildable_kits_across_levels_without_double_counting(stock_shop: Shop) -> None:
    shop, ls, ul = stock_shop, stock_shop.ls, stock_shop.ul
    # W1: the gift pack needs a brew set (cone + filters + mug), beans, a mug and a box; the mug
    # is shared between the two levels, so 4 mugs make 2 packs, not 4 (3 beans would allow 3).
    counts = {"COFFEE-BEANS-1KG": 3, "MUG-CERAMIC": 4, "FILTER-PAPERS-100": 10, "POUR-OVER-CONE": 10,
              "GIFT-BOX": 10, "BREW-SET": 0, "GIFT-PACK-BREW": 1}
    for code, quantity in counts.items():
        ul.set_stock(code, "W1", Decimal(quantity))
    shop.settings(export_products=True, export_stock=True, include_assembled=True)
    result = shop.sync("export_products", "stock")
    assert result["export_products"].created == 7 and result["stock"].failed == 0
    kit, brew_set = ls.product_by_sku("GIFT-PACK-BREW"), ls.product_by_sku("BREW-SET")
    assert kit is not None and brew_set is not None
    outlet = shop.outlet(0)["id"]
    assert ls.inventory_level(brew_set["id"], outlet) == 4  # min(cones, filters, mugs)
    assert ls.inventory_level(kit["id"], outlet) == 1 + 2  # one on the shelf, two buildable
    assert ul.stock_on_hand("GIFT-PACK-BREW", "W1", assembled=True)["AvailableQty"] == 3  # Unleashed agrees

    # A component arriving changes what the kits could make: only the kits' levels move.
    ul.receive_stock("MUG-CERAMIC", "W1", Decimal(2))
    shop.sync("stock")
    assert ls.inventory_level(kit["id"], outlet) == 1 + 3  # now the beans limit it
    assert ls.inventory_level(brew_set["id"], outlet) == 6

    # Without the switch a kit publishes its own shelf stock only.
    shop.settings(include_assembled=False)
    shop.sync("stock")
    assert ls.inventory_level(kit["id"], outlet) == 1
    assert ls.inventory_level(brew_set["id"], outlet) == 0


def test_a_stock_push_never_puts_back_what_a_till_sold_before_unleashed_imported_it(stock_shop: Shop) -> None:
    shop, ls, ul = stock_shop, stock_shop.ls, stock_shop.ul
    a = shop.sellable()[0]
    outlet = shop.outlet(0)["id"]
    ul.receive_stock(a["sku"], "W1", Decimal(10))
    shop.settings(export_stock=True)
    shop.sync("stock")
    assert ls.inventory_level(a["id"], outlet) == 10

    # A sale closes at the till; Unleashed receives stock before the sale reaches it.
    sale = shop.sell(0, [(a, 2)])
    assert ls.inventory_level(a["id"], outlet) == 8
    ul.receive_stock(a["sku"], "W1", Decimal(5))
    ls.stats.reset()
    assert shop.sync("stock")["stock"].updated == 1  # the stock flow runs before the sales flow
    assert ls.inventory_level(a["id"], outlet) == 15 - 2  # not 15: the sold two stay sold

    # Once the sales flow has imported the sale, Unleashed says 13 too; its level changed, so it
    # is published again, to the same 13 (the POS figure was right all along).
    assert shop.sync("sales")["sales"].created == 1
    assert shop.order_for(sale)["OrderStatus"] == "Completed"  # type: ignore[index]
    assert ul.stock_on_hand(a["sku"], "W1")["QtyOnHand"] == 13
    shop.sync("stock")
    assert ls.inventory_level(a["id"], outlet) == 13
    ls.stats.reset()
    assert shop.sync("stock")["stock"].written == 0 and ls.stats.count(PUT_PRODUCT) == 0

    # A held sale (its other product is not in Unleashed yet) keeps its quantities subtracted,
    # even when the number to publish equals the last one published: the till moved since.
    newcomer = ls.create_product("Seasonal Candle", "CANDLE-XMAS", Decimal("14.00"))
    held = shop.sell(0, [(newcomer, 1), (a, 1)])
    assert ls.inventory_level(a["id"], outlet) == 12
    assert shop.sync("sales")["sales"].held == 1
    ul.receive_stock(a["sku"], "W1", Decimal(1))
    shop.sync("stock")
    assert ls.inventory_level(a["id"], outlet) == 14 - 1

    shop.sync("products")
    [result] = services.reimport(shop.app, shop.name, entity="sale")
    assert result.created == 1 and shop.order_for(held) is not None
    shop.sync("stock")
    assert ls.inventory_level(a["id"], outlet) == 13 == ul.stock_on_hand(a["sku"], "W1")["AvailableQty"]


def test_a_large_export_still_sends_one_request_per_product(shop_factory: Callable[..., Shop]) -> None:
    shop = shop_factory(ls_options={"products": 90, "customers": 1})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.settings(import_opening_stock=False)  # Unleashed's stock is what the test receives
    shop.sync("products")
    products = shop.sellable()
    for p in products:
        for w in ("W1", "W2", "W3"):
            shop.ul.receive_stock(p["sku"], w, Decimal(4))
    shop.settings(export_stock=True, stock_count_threshold=0)  # the per-product PUTs (counts: test_lightspeed_stocktake)
    shop.ls.stats.reset()
    result = shop.sync("stock")["stock"]
    # More levels than one push batch (200): batches are cut between products, never inside one.
    assert result.updated == 3 * len(products) > 200
    assert shop.ls.stats.count(PUT_PRODUCT) == len(products)
    assert all(shop.ls.inventory_level(p["id"], shop.outlet(2)["id"]) == 4 for p in products)


def test_a_receipt_that_cancels_an_imported_sale_still_corrects_the_pos(retailer) -> None:  # type: ignore[no-untyped-def]
    """Stock 50 → till sells 1 → stock export (POS 49) → +1 received → sale imported → export:
    the inventory's figure is 50 again, as before, but the POS holds 49 and must be set to 50."""
    from decimal import Decimal

    retailer.map_all()
    retailer.settings(import_opening_stock=False)  # Unleashed's stock is what the test sets
    retailer.sync("products")
    retailer.settings(export_stock=True)
    product = next(p for p in retailer.ls.products() if p.get("sku") != "vend-discount" and p.get("has_inventory", True))
    outlet = retailer.ls.outlets()[0]
    rt = retailer.app.runtime("shop")
    warehouse_id = retailer.app.store.location_map(rt.id)[outlet["id"]]
    twin = retailer.ul.product_by_code(product["sku"])
    retailer.ul.set_stock(twin["Guid"], warehouse_id, Decimal(50))
    retailer.sync("sales", "stock")
    assert retailer.ls.inventory_level(product["id"], outlet["id"]) == Decimal(50)
    retailer.ls.ring_up_sale(outlet["id"], [{"product_id": product["id"], "quantity": Decimal(1),
                                             "price": Decimal(str(product["price_excluding_tax"]))}])
    retailer.sync("stock")
    assert retailer.ls.inventory_level(product["id"], outlet["id"]) == Decimal(49)
    retailer.ul.receive_stock(twin["Guid"], warehouse_id, Decimal(1))
    retailer.sync("sales")
    assert retailer.ul.stock_on_hand(twin["Guid"], warehouse_id)["AvailableQty"] == Decimal(50)
    retailer.sync("stock")
    assert retailer.ls.inventory_level(product["id"], outlet["id"]) == Decimal(50)


def test_a_stock_page_is_handed_over_a_few_products_at_a_time_with_all_their_outlets(
        stock_shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    # Page n of every mapped warehouse is read at once (one request per warehouse), then handed
    # to the engine a few rows at a time so memory does not grow with the number of outlets.
    from tillbridge_unleashed import connector as unleashed

    monkeypatch.setattr(unleashed, "STOCK_ROWS_PER_PAGE", 4)  # one product of 3 outlets, at most
    shop, ls, ul = stock_shop, stock_shop.ls, stock_shop.ul
    products = shop.sellable()[:3]
    for n, p in enumerate(products):
        for w in ("W1", "W2", "W3"):
            ul.receive_stock(p["sku"], w, Decimal(5 + n))
    shop.settings(export_stock=True)
    ls.stats.reset()
    ul.stats.reset()
    result = shop.sync("stock")["stock"]
    assert result.failed == 0 and result.pages > 3  # handed over in several pages...
    assert ul.stats.by_route["GET /StockOnHand/{id}"] == 3  # ...from one request per warehouse
    # Each product once, carrying its three outlets (the others, never moved, set to 0).
    assert ls.stats.count(PUT_PRODUCT) == len(shop.sellable())
    assert ls.stats.by_route["GET /api/2.0/sales"] == 1  # the till sales not yet imported: one look a run
    assert [levels(shop, p) for p in products] == [[5] * 3, [6] * 3, [7] * 3]
    assert shop.sync("stock")["stock"].written == 0
