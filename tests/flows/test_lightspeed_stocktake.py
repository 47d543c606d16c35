"""The stock export sets many levels with one filtered Lightspeed inventory count per outlet
(x-series-api.lightspeedhq.com/docs/inventory_creating_inventory_counts), a few with per-product
PUTs; a till sale during the count is not put back; a crash leaves no open count behind."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

from tillbridge_lightspeed.stocktake import InventoryCounts

from .shopkit import Shop

PUT_PRODUCT = "PUT /api/2.1/products/{id}"


@pytest.fixture
def shop(shop_factory: Callable[..., Shop]) -> Shop:
    shop = shop_factory(ls_options={"products": 80, "customers": 1, "stocktake_processing_seconds": 0.05})
    shop.map({0: "W1"})
    shop.settings(import_opening_stock=False)
    shop.sync()
    shop.settings(export_stock=True)
    return shop


def _stock_everything(shop: Shop) -> dict[str, Decimal]:
    wanted = {}
    for i, p in enumerate(shop.sellable()):
        shop.ul.receive_stock(p["sku"], "W1", Decimal(i % 7 + 1))
        wanted[p["id"]] = Decimal(i % 7 + 1)
    return wanted


def _counts(shop: Shop) -> list[dict[str, Any]]:
    from tillbridge_lightspeed.emulator.consignments import book

    return list(book(shop.ls).items.values())


def test_a_large_push_is_one_filtered_count_with_exact_levels_and_a_quiet_resync_writes_nothing(shop: Shop) -> None:
    wanted = _stock_everything(shop)
    outlet = shop.outlet(0)["id"]
    untouched = shop.outlet(1)["id"]
    others = {p["id"]: shop.ls.inventory_level(p["id"], untouched) for p in shop.sellable()}
    shop.ls.stats.reset()
    result = shop.sync("stock")["stock"]
    assert result.failed == 0, shop.log(levels=["error"])
    assert {pid: shop.ls.inventory_level(pid, outlet) for pid in wanted} == wanted
    assert {p["id"]: shop.ls.inventory_level(p["id"], untouched) for p in shop.sellable()} == others
    # a page's remainder of 50 products or fewer still goes product by product
    assert shop.ls.stats.count(PUT_PRODUCT) <= 50
    assert shop.ls.stats.count("POST /api/2.0/consignments") >= 1
    total = shop.ls.stats.total
    assert total < len(wanted) / 4, shop.ls.stats.as_dict()  # O(k/500), not one call per product
    assert all(c["status"] == "STOCKTAKE_COMPLETE" for c in _counts(shop))
    shop.ls.stats.reset()
    again = shop.sync("stock")["stock"]
    assert again.written == 0 and shop.ls.stats.count(PUT_PRODUCT) == 0
    assert shop.ls.stats.count("POST /api/2.0/consignments") == 0


def test_a_small_push_uses_per_product_puts(shop: Shop) -> None:
    shop.settings(stock_count_threshold=1000)
    wanted = _stock_everything(shop)
    shop.ls.stats.reset()
    assert shop.sync("stock")["stock"].failed == 0
    assert shop.ls.stats.count(PUT_PRODUCT) >= len(wanted)  # (and the products Lightspeed refuses)
    assert shop.ls.stats.count("POST /api/2.0/consignments") == 0
    assert {pid: shop.ls.inventory_level(pid, shop.outlet(0)["id"]) for pid in wanted} == wanted


def test_a_sale_during_the_count_is_not_put_back(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = _stock_everything(shop)
    sold = shop.sellable()[0]
    real = InventoryCounts._wait
    rung: list[Any] = []

    def wait_and_sell(self: InventoryCounts, c: Any) -> None:
        if not rung:
            rung.append(shop.sell(0, [(sold, 2)]))  # at the till, while the count is open
        real(self, c)

    monkeypatch.setattr(InventoryCounts, "_wait", wait_and_sell)
    assert shop.sync("stock")["stock"].failed == 0, shop.log(levels=["error"])
    assert rung
    assert shop.ls.inventory_level(sold["id"], shop.outlet(0)["id"]) == wanted[sold["id"]] - 2


def test_a_crash_mid_count_leaves_no_open_count_and_the_retry_sets_exact_levels(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = _stock_everything(shop)
    outlet = shop.outlet(0)["id"]
    before = {pid: shop.ls.inventory_level(pid, outlet) for pid in wanted}
    real = InventoryCounts._bulk

    def crash(self: InventoryCounts, c: dict[str, Any], counts: dict[str, Decimal]) -> None:
        real(self, c, dict(list(counts.items())[:3]))  # part of the counts reached Lightspeed
        raise ConnectionError("the process dies")

    monkeypatch.setattr(InventoryCounts, "_bulk", crash)
    with pytest.raises(Exception):
        shop.sync("stock")
    assert {pid: shop.ls.inventory_level(pid, outlet) for pid in wanted} == before  # nothing applied
    assert [c["status"] for c in _counts(shop)] == ["CANCELLED"]
    # A count left open by a process killed outright (no chance to cancel) is cancelled next time.
    from tillbridge_lightspeed.emulator.consignments import book

    stale = book(shop.ls).create({"name": f"tillbridge stock {shop.name} {outlet}", "outlet_id": outlet,
                                  "type": "STOCKTAKE", "status": "STOCKTAKE_IN_PROGRESS"})  # unfiltered!
    monkeypatch.setattr(InventoryCounts, "_bulk", real)
    shop.app.forget_runtime(shop.name)
    assert shop.sync("stock")["stock"].failed == 0, shop.log(levels=["error"])
    assert stale["status"] == "CANCELLED"
    assert {pid: shop.ls.inventory_level(pid, outlet) for pid in wanted} == wanted
    assert sorted(c["status"] for c in _counts(shop)) == ["CANCELLED", "CANCELLED", "STOCKTAKE_COMPLETE"]


def test_counts_of_several_outlets_share_one_sales_look_and_a_sale_comes_off_its_own_outlet(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    shop.map({0: "W1", 1: "W2"})
    wanted = _stock_everything(shop)
    for p in shop.sellable():
        shop.ul.receive_stock(p["sku"], "W2", wanted[p["id"]])
    sold = shop.sellable()[0]
    real = InventoryCounts._wait
    rung: list[Any] = []

    def wait_and_sell(self: InventoryCounts, c: Any) -> None:
        if not rung:  # every count is open (all were opened and filled before the first wait)
            assert len([c for c in _counts(shop) if c["status"].startswith("STOCKTAKE_IN_PROGRESS")]) == 2
            rung.append(shop.sell(1, [(sold, 3)]))  # at the second outlet's till
        real(self, c)

    looks: list[int] = []
    real_look = InventoryCounts._sold_since

    def look(self: InventoryCounts, after: int, by_outlet: dict[str, Any]) -> Any:
        looks.append(len(by_outlet))
        return real_look(self, after, by_outlet)

    monkeypatch.setattr(InventoryCounts, "_wait", wait_and_sell)
    monkeypatch.setattr(InventoryCounts, "_sold_since", look)
    shop.ls.stats.reset()
    assert shop.sync("stock")["stock"].failed == 0, shop.log(levels=["error"])
    first, second = shop.outlet(0)["id"], shop.outlet(1)["id"]
    assert {pid: shop.ls.inventory_level(pid, first) for pid in wanted} == wanted
    assert shop.ls.inventory_level(sold["id"], second) == wanted[sold["id"]] - 3
    assert {pid: shop.ls.inventory_level(pid, second) for pid in wanted if pid != sold["id"]} \
        == {pid: q for pid, q in wanted.items() if pid != sold["id"]}
    assert shop.ls.stats.by_route["POST /api/2.0/consignments"] == 2
    # one look at the sales for both counts, and one more after the sale it found
    assert looks == [2, 2]
