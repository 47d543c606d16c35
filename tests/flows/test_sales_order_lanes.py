"""Sales orders of one warehouse side by side, except those that take the same stock (issue 17):
with the writes concurrent and the emulator answering after a random delay, every order ends as
it would have one at a time in the POS's order (functional: outcomes and call counts, no timing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from .shopkit import Shop


def test_orders_that_share_short_stock_keep_the_pos_order_and_the_rest_complete(shop_factory: Callable[..., Shop]) -> None:
    shop = shop_factory(ls_options={"products": 16, "customers": 3, "outlets": 1})
    shop.map({0: "W1"})
    sellable = shop.sellable()
    scarce, others = sellable[:6], sellable[6:11]
    outlet = shop.outlet(0)["id"]
    for product in scarce:
        shop.ls.set_inventory(product["id"], outlet, Decimal(1))
    for product in others:
        shop.ls.set_inventory(product["id"], outlet, Decimal(50))
    shop.sync()  # products and their opening stock: one of each of 6 scarce products in W1

    # the till: each scarce product sold 4 times in a row (3 too many), among other sales
    sales = [shop.sell(0, [(others[n], 1)]) for n in range(3)]
    runs = []
    for product in scarce:
        runs.append([shop.sell(0, [(product, 1), (others[n], 1)]) for n in range(4)])
        sales += runs[-1] + [shop.sell(0, [(others[4], 1)])]
    shop.ul.set_faults(latency_ms=1, latency_max_ms=120)  # answers in a random order
    shop.ul.stats.reset()
    result = shop.sync("sales")["sales"]
    shop.ul.set_faults(latency_ms=0, latency_max_ms=0)

    assert result.created == len(sales) and result.failed == 0
    status = {s["invoice_number"]: shop.order_for(s)["OrderStatus"] for s in sales}  # type: ignore[index]
    # Written 4 at once, yet of each run the first completes and the other three park, as when
    # written one at a time: orders that take the same product went in the POS's order.
    for run in runs:
        assert [status[s["invoice_number"]] for s in run] == ["Completed", "Parked", "Parked", "Parked"]
    assert all(status[s["invoice_number"]] == "Completed" for s in sales if not any(s in run for run in runs))
    for product in scarce:
        ul = shop.ul.product_by_code(product["sku"])
        assert ul is not None
        level = shop.ul.stock_on_hand(ul["Guid"], shop.warehouse("W1")["Guid"])
        assert (level["QtyOnHand"], level["AllocatedQty"]) == (0, 3)
    assert shop.ul.stats.count("GET /BillOfMaterials") == 1  # what kits take: read once for the page
