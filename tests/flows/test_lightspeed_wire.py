"""Lightspeed as the real API has it (issue 13): prices as JSON numbers, products that do not
track inventory, the store's name, sales pages of at most 500."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable

import httpx
import pytest

from tillbridge import ConnectorContext, Outgoing, Product, StockLevel
from tillbridge_lightspeed import convert
from tillbridge_lightspeed.connector import LightspeedConnector

from .shopkit import Shop

PUT_PRODUCT = "PUT /api/2.1/products/{id}"


@pytest.fixture
def small_shop(shop_factory: Callable[..., Shop]) -> Shop:
    shop = shop_factory(ls_options={"products": 6, "customers": 2})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.settings(import_opening_stock=False)  # Unleashed's stock is what each test puts there
    return shop


def offline_connector(answer: Callable[[httpx.Request], httpx.Response]) -> tuple[LightspeedConnector, list[httpx.Request]]:
    """A connector whose requests go to ``answer`` (and are kept)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    http = httpx.Client(base_url="https://demo.retail.lightspeed.app", transport=httpx.MockTransport(handler))
    context = ConnectorContext(connection="t", system="lightspeed", base_url="https://demo.retail.lightspeed.app",
                               credentials={"personal_token": "pt"}, save_credentials=lambda values: None,
                               settings={}, http=http)
    return LightspeedConnector(context), seen


# --- item 1: prices are JSON numbers, exactly ---------------------------------------------------------
def test_a_new_product_and_a_price_change_reach_lightspeed_as_numbers(small_shop: Shop) -> None:
    shop, ls, ul = small_shop, small_shop.ls, small_shop.ul
    shop.sync()
    ul.add_product("TEA-GREEN", "Green tea, loose", sell_price=Decimal("19.99"), DefaultPurchasePrice=Decimal("7.30"))
    shop.settings(product_master="inventory", export_products=True)  # Unleashed prices win
    created = shop.sync("export_products")["export_products"]
    assert created.created >= 1 and created.failed == 0, shop.log(levels=["error"])
    twin = ls.product_by_sku("TEA-GREEN")
    assert twin is not None
    assert (twin["price_excluding_tax"], twin["supply_price"]) == (Decimal("19.99"), Decimal("7.30"))

    ul.update_product(next(p["Guid"] for p in ul.products() if p["ProductCode"] == "TEA-GREEN"),
                      DefaultSellPrice=Decimal("24.95"))
    updated = shop.sync("export_products")["export_products"]
    assert (updated.updated, updated.failed) == (1, 0), shop.log(levels=["error"])
    assert ls.get_product(twin["id"])["price_excluding_tax"] == Decimal("24.95")  # type: ignore[index]


def test_prices_go_on_the_wire_with_their_exact_digits() -> None:
    connector, seen = offline_connector(lambda r: httpx.Response(200, json={"data": []}) if r.method == "GET"
                                        else httpx.Response(200, json={"data": ["new-id"]}))
    price = Decimal("0.1") + Decimal("0.2")  # 0.30000000000000004 through a float
    product = Product(id="u1", code="DRIP", description="Drip cone", sell_price=price, cost_price=Decimal("1.10"))
    [result] = connector.push("product", [Outgoing(entity=product, target_id="", exists=False, source_key="DRIP",
                                                   source_id="u1")])
    assert result.status == "created"
    body = seen[-1].content
    assert b'"price_excluding_tax":0.3,' in body and b'"supply_price":1.1' in body
    assert json.loads(body, parse_float=Decimal)["price_excluding_tax"] == Decimal("0.3")


# --- item 3: products that do not track inventory ---------------------------------------------------
@pytest.mark.parametrize(("fields", "tracks"), [
    ({}, True), ({"has_inventory": True}, True), ({"has_inventory": False}, False),
    ({"has_inventory": True, "is_composite": True}, False),
])
def test_a_product_tracks_inventory_as_lightspeed_says(fields: dict[str, Any], tracks: bool) -> None:
    assert convert.product({"id": "p", "name": "Thing", "sku": "T", **fields}).tracks_inventory is tracks


def test_the_stock_export_never_writes_inventory_to_a_product_without_it(small_shop: Shop) -> None:
    shop, ls, ul = small_shop, small_shop.ls, small_shop.ul
    shop.sync()
    tracked, service = shop.sellable()[:2]
    for p in (tracked, service):
        ul.receive_stock(p["sku"], "W1", Decimal(6))
    ls.update_product(service["id"], has_inventory=False)  # e.g. turned into a service in the back office
    shop.sync("products")
    shop.settings(export_stock=True)
    held = ls.inventory_level(service["id"], shop.outlet(0)["id"])
    first = shop.sync("stock")["stock"]
    assert first.failed == 0, shop.log(levels=["error"])
    assert ls.inventory_level(tracked["id"], shop.outlet(0)["id"]) == 6
    assert ls.inventory_level(service["id"], shop.outlet(0)["id"]) == held  # never set
    # A connector that has not read the product (a new process) is told by Lightspeed (422):
    # nothing fails, and nothing is tried again while the level stays the same.
    ul.receive_stock(service["sku"], "W1", Decimal(2))
    shop.app.forget_runtime(shop.name)
    second = shop.sync("stock")["stock"]
    assert second.failed == 0, shop.log(levels=["error"])
    assert ls.inventory_level(service["id"], shop.outlet(0)["id"]) == held
    ls.stats.reset()
    assert shop.sync("stock")["stock"].written == 0 and ls.stats.count(PUT_PRODUCT) == 0


def test_stock_pushed_to_a_known_untracked_product_costs_no_request() -> None:
    product = {"id": "svc", "name": "Engraving", "sku": "ENGRAVE", "has_inventory": False, "version": 3}
    connector, seen = offline_connector(lambda r: httpx.Response(200, json={"data": [product], "version": {"min": 3, "max": 3}})
                                        if r.url.path == "/api/2.0/products" else
                                        httpx.Response(200, json={"data": {"discount_product_id": "d"}}))
    [read] = connector.fetch("product", None).records
    assert isinstance(read, Product) and read.tracks_inventory is False
    asked = len(seen)
    level = StockLevel(id="x@w", product_id="svc", location_id="outlet-1", on_hand=Decimal(4), available=Decimal(4))
    [result] = connector.push("stock", [Outgoing(entity=level, target_id="", exists=False, source_key="ENGRAVE@W1",
                                                 source_id="x@w")])
    assert result.ok and result.status == "unchanged" and len(seen) == asked


# --- item 8: the store's name, sales pages ----------------------------------------------------------
def test_a_personal_token_names_the_store_from_the_retailer() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/2.0/retailer":
            return httpx.Response(200, json={"data": {"name": "Kauri Coffee", "domain_prefix": "kauri"}})
        return httpx.Response(200, json={"data": [{"id": "o1"}, {"id": "o2"}]})

    connector, _ = offline_connector(answer)
    assert connector.check() == "Lightspeed store Kauri Coffee: 2 outlets"


def test_sales_are_asked_for_at_most_500_a_page() -> None:
    connector, seen = offline_connector(lambda r: httpx.Response(200, json={"data": []}))
    connector.fetch("sale", None)
    connector.fetch("product", None)
    pages = {r.url.path: int(r.url.params["page_size"]) for r in seen if "page_size" in r.url.params}
    assert pages["/api/2.0/sales"] == 500
    assert pages["/api/2.0/products"] == LightspeedConnector.max_page_size  # others keep the larger page
