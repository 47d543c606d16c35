"""tillbridge paces itself under Lightspeed's limit; the store-activity simulator drives sync."""

from __future__ import annotations

import time

from tillbridge.emulation import StoreActivity

from retail import start_retailer


def test_client_paces_itself_under_the_lightspeed_limit(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(None)
    # 1 outlet x 1 register: 300 x 1 + 50 = 350 calls per 300 s; at time scale 300 a window is 1 s.
    shop, servers = start_retailer(app, ls_options={"outlets": 1, "registers_per_outlet": 1, "products": 5},
                                   time_scale=300.0)
    try:
        connector = app.runtime("shop").connector("pos")
        for _ in range(800):  # more than two windows' worth
            connector.check()
        # the emulator counts a request just after answering it: let the last count land
        deadline = time.monotonic() + 5
        while shop.ls.stats.total < 800 and time.monotonic() < deadline:
            time.sleep(0.01)
        statuses = shop.ls.stats.as_dict()["by_status"]
        assert statuses.get("429", 0) == 0, statuses
        assert statuses["200"] >= 800, statuses
    finally:
        for s in servers:
            s.stop()


def test_activity_simulator_then_sync_keeps_systems_in_step(retailer) -> None:  # type: ignore[no-untyped-def]
    retailer.map_all()
    retailer.sync()
    activity = StoreActivity([retailer.ls, retailer.ul], seed=11)
    done = activity.run(40)
    assert any(w.startswith("sale") for w in done) and any(w.startswith("receipt") for w in done)
    results = retailer.sync()
    assert all(r.status == "ok" for r in results.values()), {k: r.error for k, r in results.items()}
    closed = [s for s in retailer.ls.sales() if s["status"] == "CLOSED" and not s.get("return_for")]
    orders = retailer.ul.sales_orders()
    # every closed sale is an order, once (voided ones were closed first and stay imported)
    refs = [o["CustomerRef"] for o in orders]
    assert len(refs) == len(set(refs))
    assert {s["invoice_number"] for s in closed} <= set(refs)
