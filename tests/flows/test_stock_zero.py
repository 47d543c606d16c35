"""Issue 13 item 4: a level Unleashed does not report (no stock-on-hand row: the product never
moved in that warehouse) is Available 0, and Lightspeed is set to 0 instead of keeping its count."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from sqlmodel import select

from tillbridge.storage.models import Binding

from .shopkit import Shop

PUT_PRODUCT = "PUT /api/2.1/products/{id}"


def levels(shop: Shop, product: dict[str, Any]) -> list[Decimal]:
    return [shop.ls.inventory_level(product["id"], shop.outlet(i)["id"]) for i in range(3)]


def test_a_level_without_a_stock_row_is_set_to_zero_once(shop_factory: Callable[..., Shop],
                                                          database_url: str) -> None:
    shop = shop_factory(database_url=database_url, ls_options={"products": 6, "customers": 2})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.settings(import_opening_stock=False)  # no stock rows in Unleashed but those made here
    shop.sync()
    ls, ul = shop.ls, shop.ul
    stocked, never_moved = shop.sellable()[:2]
    for p in (stocked, never_moved):
        for i in range(3):
            ls.set_inventory(p["id"], shop.outlet(i)["id"], Decimal(9))  # counts Unleashed does not know
    ul.receive_stock(stocked["sku"], "W1", Decimal(4))  # a row in W1 only
    assert ul.stock_on_hand(stocked["sku"], "W2")["AvailableQty"] == 0

    shop.settings(export_stock=True)
    first = shop.sync("stock")["stock"]
    assert first.failed == 0, shop.log(levels=["error"])
    assert levels(shop, stocked) == [4, 0, 0]
    assert levels(shop, never_moved) == [0, 0, 0]
    # The zeros are named by the product's code in the log and bindings, like the levels reported.
    with shop.app.store.session() as s:
        keys = list(s.exec(select(Binding.source_key).where(Binding.connection_id == shop.conn_id,
                                                            Binding.entity_type == "stock")))
    assert len([k for k in keys if k.split("@")[0] == never_moved["sku"]]) == 3, keys

    # Published once: a quiet run writes nothing, and nor does a read from the start again.
    ls.stats.reset()
    assert shop.sync("stock")["stock"].written == 0
    shop.settings(include_assembled=True)  # what is published changed: every level is read again
    again = shop.sync("stock")["stock"]
    assert again.written == 0 and ls.stats.count(PUT_PRODUCT) == 0


def test_an_incremental_read_does_not_take_unchanged_levels_for_zeros(shop_factory: Callable[..., Shop]) -> None:
    shop = shop_factory(ls_options={"products": 4, "customers": 1})
    shop.map({0: "W1", 1: "W2", 2: "W3"})
    shop.settings(import_opening_stock=False)  # no stock rows in Unleashed but those made here
    shop.sync()
    a, b = shop.sellable()[:2]
    for w in ("W1", "W2", "W3"):
        shop.ul.receive_stock(a["sku"], w, Decimal(5))
        shop.ul.receive_stock(b["sku"], w, Decimal(7))
    shop.settings(export_stock=True)
    shop.sync("stock")
    assert levels(shop, a) == [5, 5, 5] and levels(shop, b) == [7, 7, 7]
    shop.ul.receive_stock(a["sku"], "W2", Decimal(1))  # only this row changes
    shop.ls.stats.reset()
    later = shop.sync("stock")["stock"]
    assert later.updated == 1 and shop.ls.stats.count(PUT_PRODUCT) == 1
    assert levels(shop, a) == [5, 6, 5] and levels(shop, b) == [7, 7, 7]
