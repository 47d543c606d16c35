"""A connection whose credentials are revoked fails alone, visibly, backs off, and recovers by itself.

Three shops under one daemon. Lightspeed revokes the tokens of one of them mid-run: its flows
keep failing (the connection log and /healthz say so, with a growing pause) while the two others
keep syncing their sales. When the retailer reconnects (new tokens saved, as `tillbridge
connect` would from another process), the daemon notices without a restart and the shop
catches up.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tillbridge.app import App
from tillbridge.plugins import Plugins

from daemon_kit import (
    DaemonProcess,
    Shop,
    eventually,
    free_port,
    lightspeed_credentials,
    new_key,
    prepare_database,
    save_credentials,
    start_shop,
)


def ring_up(shop: Shop, count: int) -> None:
    products = [p for p in shop.ls.products() if p.get("has_inventory", True) and p["sku"] != "vend-discount"]
    outlets = shop.ls.outlets()
    for n in range(count):
        shop.ls.ring_up_sale(outlets[n % len(outlets)]["id"],
                             [{"product_id": products[n % len(products)]["id"], "quantity": Decimal(1)}])


def flows_of(health: dict[str, Any], connection: str) -> dict[str, Any]:
    return health["connections"][connection]["flows"]  # type: ignore[no-any-return]


def log_messages(url: str, key: bytes, connection: str) -> list[str]:
    app = App(url, plugins=Plugins(), secret_key=key)
    try:
        entries = app.store.log_entries(app.store.connection(connection).id or 0, limit=500)
        return [e.message for e in entries]
    finally:
        app.close()


def test_revoked_credentials_fail_alone_and_recover(tmp_path: Path) -> None:
    key = new_key()
    shops = [start_shop("north", seed=1, products=12), start_shop("south", seed=2, products=12),
             start_shop("revoked", seed=3, products=12)]
    url = prepare_database(tmp_path / "daemon.sqlite", key, shops, oauth={"revoked"}, export_stock=True,
                           interval_sales=5, interval_stock=5, interval_products=5, interval_customers=5)
    daemon = DaemonProcess(url, key, free_port(), tmp_path / "daemon.log", "--no-webhooks", "--max-backoff", "12")
    north, south, revoked = shops
    try:
        daemon.start().wait_ready()
        eventually(lambda: all(f["last_success"] for name in ("north", "south", "revoked")
                               for f in flows_of(daemon.healthz(), name).values()), 60, 0.5, what="first runs")
        revoked.ls.revoke_all_tokens()
        ring_up(north, 4)
        ring_up(south, 4)
        ring_up(revoked, 4)

        # the revoked shop fails, again and again, with growing pauses; visible in /healthz
        def failing() -> dict[str, Any] | None:
            flows = flows_of(daemon.healthz(), "revoked")
            sales = flows["sales"]
            return flows if sales["consecutive_failures"] >= 2 and sales["last_status"] == "failed" else None

        flows = eventually(failing, 60, 0.5, what="the revoked shop failing repeatedly")
        health = daemon.healthz()
        assert health["status"] == "degraded"
        assert health["connections"]["revoked"]["status"] == "failing"
        assert "refused our credentials" in (flows["sales"]["last_error"] or "")
        assert flows["sales"]["interval_seconds"] == 5.0
        # ... and the others keep syncing meanwhile
        eventually(lambda: not north.missing_orders() and not south.missing_orders(), 60, 0.5,
                   what="the healthy shops' sales imported")
        for name in ("north", "south"):
            assert health["connections"][name]["status"] == "ok", health["connections"][name]
            assert all(f["consecutive_failures"] == 0 for f in flows_of(health, name).values())
        assert len(revoked.missing_orders()) == 4
        messages = log_messages(url, key, "revoked")
        assert any("refused our credentials" in m for m in messages)
        assert any("in a row; next attempt in" in m for m in messages)
        assert not any("in a row" in m for m in log_messages(url, key, "north"))
        metrics = daemon.metrics()
        assert 'tillbridge_flow_consecutive_failures{connection="revoked",flow="sales"}' in metrics
        assert 'tillbridge_api_calls_total{connection="revoked",status="401",system="lightspeed"}' in metrics

        # the retailer reconnects: new tokens, saved by another process; no restart
        save_credentials(url, key, "revoked", "lightspeed", lightspeed_credentials(revoked, oauth=True))
        eventually(lambda: not revoked.missing_orders(), 60, 0.5, what="the reconnected shop catching up")
        eventually(lambda: all(f["consecutive_failures"] == 0 for f in flows_of(daemon.healthz(), "revoked").values()),
                   60, 0.5, what="every flow of the reconnected shop healthy")
        assert any(m.startswith("sales recovered after") for m in log_messages(url, key, "revoked"))
        refs = revoked.order_refs()
        assert len(refs) == len(set(refs))
    finally:
        daemon.stop()
        for shop in shops:
            shop.close()
