"""A sync where nothing changed writes nothing, on any route of either system (issue 13 item 5).

Counted on the emulators by method and route, not on our own run results: a connector that
writes and then reports "unchanged" would fool the run results, not the remote side.
"""

from __future__ import annotations

from decimal import Decimal

from .shopkit import Shop

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def _writes(shop: Shop) -> dict[str, int]:
    """Every write request both emulators received, by system, method and route."""
    found: dict[str, int] = {}
    for system, emulator in (("lightspeed", shop.ls), ("unleashed", shop.ul)):
        for route, count in emulator.stats.as_dict()["by_route"].items():
            if route.split(" ", 1)[0] not in READ_METHODS:
                found[f"{system} {route}"] = count
    return found


def _reset(shop: Shop) -> None:
    shop.ls.stats.reset()
    shop.ul.stats.reset()


def _all_exports_on(shop: Shop) -> None:
    shop.settings(export_customers=True, export_products=True, export_stock=True)


def test_a_quiet_sync_after_the_exports_are_switched_on_writes_nothing_anywhere(shop: Shop) -> None:
    _all_exports_on(shop)
    # Records that begin on each side: an Unleashed customer and product the POS has never seen.
    shop.ul.add_customer("UL-CUST-1", "Harbour Cafe Ltd", Email="orders@harbourcafe.example")
    new = shop.ul.add_product("UL-NEW-1", "Made in Unleashed", sell_price=Decimal("12.50"))
    shop.ul.receive_stock(new["Guid"], "W1", Decimal(4))
    first = shop.sync()
    assert first["export_customers"].created >= 1 and first["export_products"].created >= 1
    assert all(r.failed == 0 for r in first.values()), {n: r.failed for n, r in first.items()}

    # Everything the first sync wrote comes back on the next reads: none of it is written again.
    for attempt in range(3):
        _reset(shop)
        quiet = shop.sync()
        assert _writes(shop) == {}, f"sync {attempt + 2} wrote"
        assert {name: r.written for name, r in quiet.items()} == {name: 0 for name in quiet}
        assert all(r.status == "ok" for r in quiet.values())


def test_a_code_exported_without_its_spaces_and_notes_come_back_as_our_own_write(shop: Shop) -> None:
    """Lightspeed stores what we send differently (a code loses its spaces, a customer's whole name
    is split): read back, it is still our own write, and nothing goes back to Unleashed."""
    _all_exports_on(shop)
    shop.settings(export_codes_with_spaces=True)
    spaced = shop.ul.add_product("GIFT SET 9", "Gift set, nine mugs", sell_price=Decimal("45.00"),
                                 Notes="Boxed, with a card")
    shop.ul.receive_stock(spaced["Guid"], "W2", Decimal(3))
    shop.ul.add_customer("UL-CUST-2", "Tui Lodge", Email="stay@tuilodge.example")
    first = shop.sync()
    assert first["export_products"].created >= 1 and first["export_customers"].created >= 1
    exported = shop.ls.product_by_sku("GIFTSET9")
    assert exported is not None
    assert shop.ls.inventory_level(exported["id"], shop.outlet(1)["id"]) == 3

    _reset(shop)
    second = shop.sync()
    assert _writes(shop) == {}
    assert second["products"].written == second["customers"].written == 0
    assert shop.ul.product_by_code("GIFT SET 9") is not None  # Unleashed keeps its own spelling
    assert shop.ul.product_by_code("GIFTSET9") is None


def test_edits_and_stock_moves_are_written_once_and_never_echoed(shop: Shop) -> None:
    _all_exports_on(shop)
    shop.settings(product_master="inventory")
    shop.sync()
    shop.sync()
    product = shop.sellable()[0]
    code = product["sku"]
    shop.ul.update_product(code, DefaultSellPrice=Decimal("64.00"))
    shop.ul.receive_stock(shop.ul.product_by_code(code)["Guid"], "W1", Decimal(7))  # type: ignore[index]

    _reset(shop)
    moved = shop.sync()
    assert moved["export_products"].updated == 1 and moved["stock"].written >= 1
    assert shop.ls.get_product(product["id"])["price_excluding_tax"] == Decimal("64.00")  # type: ignore[index]
    writes = _writes(shop)
    assert writes and all(k.startswith("lightspeed ") for k in writes), writes
    assert moved["products"].written == 0  # the price written to Lightspeed does not come back

    _reset(shop)
    quiet = shop.sync()
    assert _writes(shop) == {}
    assert {name: r.written for name, r in quiet.items()} == {name: 0 for name in quiet}


def test_an_edit_on_one_side_is_written_once_to_the_other_and_never_back(shop: Shop) -> None:
    _all_exports_on(shop)
    shop.sync()
    shop.sync()
    customer = shop.ls.customers()[0]
    shop.ls.update_customer(customer["id"], email="moved@example.co.nz")
    code = shop.ul.customers()[1]["CustomerCode"] if len(shop.ul.customers()) > 1 else None

    _reset(shop)
    edited = shop.sync()
    assert edited["customers"].updated == 1
    assert {k.split(" ", 1)[1]: n for k, n in _writes(shop).items() if k.startswith("unleashed")}
    assert not any(k.startswith("lightspeed") and "customer" in k for k in _writes(shop)), _writes(shop)

    _reset(shop)
    shop.sync()
    assert _writes(shop) == {}, "the customer written to Unleashed came back as a change"
    assert code is None or shop.ul.customer_by_code(code) is not None
