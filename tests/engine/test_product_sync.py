"""The first flow end to end: Lightspeed products → Unleashed products, on the emulators."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tillbridge import hookimpl
from tillbridge.runner import FlowRunner

from retail import Retailer, start_retailer


def unleashed_products(shop: Retailer) -> dict[str, tuple[str, Decimal]]:
    return {p["ProductCode"]: (p["ProductDescription"], Decimal(str(p.get("DefaultSellPrice") or 0)))
            for p in shop.ul.products() if p["ProductCode"] != "DISCOUNT"}


def lightspeed_products(shop: Retailer) -> dict[str, tuple[str, Decimal]]:
    out = {}
    for p in shop.ls.products():
        if p.get("sku") == "vend-discount":
            continue
        name = p["name"] if not p.get("variant_name") else f"{p['name']} / {p['variant_name']}"
        if p.get("variant_name", "").startswith(p["name"]):
            name = p["variant_name"]
        out[p["sku"]] = (name, Decimal(str(p["price_excluding_tax"])).quantize(Decimal("0.01")))
    return out


def seeded_codes(shop: Retailer) -> set[str]:
    """Products the Unleashed emulator seeds itself (a kit and its components)."""
    return {p["ProductCode"] for p in shop.ul.products()}


def test_products_reach_unleashed_equal_and_a_refused_one_is_logged(retailer: Retailer) -> None:
    already = seeded_codes(retailer)
    long_code = "X" * 120  # Unleashed limits ProductCode to 100 characters
    retailer.ls.create_product("Too long", long_code, Decimal("5.00"))
    result = retailer.sync("products")["products"]
    assert result.status == "ok"
    assert result.failed == 1
    ls = lightspeed_products(retailer)
    ul = {code: v for code, v in unleashed_products(retailer).items() if code not in already}
    expected = {code: v for code, v in ls.items() if code != long_code}
    assert {c: (d, p.quantize(Decimal("0.01"))) for c, (d, p) in ul.items()} == expected
    entries = retailer.app.store.log_entries(retailer.app.store.connection("shop").id, levels=["error"])
    assert len(entries) == 1
    assert entries[0].record_key == long_code
    assert "100" in (entries[0].message + (entries[0].fix or ""))
    assert entries[0].fix


def test_second_run_writes_nothing_and_one_change_writes_one(retailer: Retailer) -> None:
    retailer.sync("products")
    posts_before = retailer.ul.stats.count("POST /Products")
    again = retailer.sync("products")["products"]
    assert again.created == again.updated == 0
    assert retailer.ul.stats.count("POST /Products") == posts_before
    product = next(p for p in retailer.ls.products() if p.get("sku") != "vend-discount")
    retailer.ls.update_product(product["id"], price_excluding_tax=Decimal("77.70"))
    changed = retailer.sync("products")["products"]
    assert (changed.created, changed.updated) == (0, 1)
    assert retailer.ul.stats.count("POST /Products") == posts_before + 1
    assert retailer.ul.product_by_code(product["sku"])["DefaultSellPrice"] == Decimal("77.70")


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the engine catches it."""


class KillAfterWrites:
    """Lets the connector write a batch, then 'kills the process' before the engine commits."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    @hookimpl(tryfirst=True)
    def push_entities(self, connector, entity_type, records):  # type: ignore[no-untyped-def]
        results = connector.push(entity_type, records)
        self.left -= 1
        if self.left <= 0:
            raise Killed()
        return results


def _state(shop: Retailer) -> list[tuple[str, str, str]]:
    return sorted((p["Guid"], p["ProductCode"], str(p.get("DefaultSellPrice"))) for p in shop.ul.products())


@pytest.mark.parametrize("kill_after", [1, 2])
def test_killed_mid_sync_then_rerun_equals_uninterrupted_run(make_app, kill_after: int) -> None:  # type: ignore[no-untyped-def]
    options = {"products": 250}
    reference_app = make_app(None)
    reference, servers = start_retailer(reference_app, ls_options=options)
    try:
        reference.sync("products")
        expected = _state(reference)
    finally:
        for s in servers:
            s.stop()

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(f"sqlite:///{tmp}/killed.sqlite")
        shop, servers = start_retailer(app, ls_options=options)
        try:
            killer = KillAfterWrites(kill_after)
            app.plugins.register(killer, name="killer")
            flow = app.flows()["products"]
            with pytest.raises(Killed):
                FlowRunner(app, app.runtime("shop")).run(flow)
            app.plugins.unregister("killer")
            assert 0 < len(shop.ul.products()) < len(expected)  # the crash left a partial state
            killed_run = app.store.last_runs(app.store.connection("shop").id)["products"]
            assert killed_run.status == "failed" and "Killed" in (killed_run.error or "")
            shop.sync("products")
            assert _state(shop) == expected  # same Guids, nothing missing, no duplicate
            assert len({code for _, code, _ in _state(shop)}) == len(expected)
        finally:
            for s in servers:
                s.stop()


def test_faults_on_both_sides_still_end_with_exactly_the_expected_products(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(None)
    faults = {"error_rate": 0.1, "lost_response_rate": 0.1, "seed": 5}
    shop, servers = start_retailer(app, ls_options={"products": 120}, ul_faults=faults,
                                   ls_faults={"error_rate": 0.1, "drop_rate": 0.05, "seed": 9})
    try:
        results = shop.sync("products")
        assert results["products"].status == "ok", results["products"].error
        assert shop.ul.fault_counters["lost_responses"] > 0  # the faults really happened
        assert shop.ul.fault_counters["errors"] > 0
        ls = lightspeed_products(shop)
        ul_codes = [p["ProductCode"] for p in shop.ul.products()]
        assert len(ul_codes) == len(set(ul_codes))  # no duplicate
        assert set(ls) <= set(ul_codes)  # nothing missing
    finally:
        for s in servers:
            s.stop()
