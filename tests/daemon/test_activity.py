"""The daemon keeps a shop in step while the store-activity simulator runs, with and without webhooks.

Emulated time runs 60x faster, so the ~12 s of activity are 12 minutes of a shop's day. With
webhooks on, every polling interval is longer than the whole test, so whatever arrives arrived
through a webhook; with them off, polling alone (5 s intervals) carries everything.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import pytest

from tillbridge.emulation import StoreActivity

from daemon_kit import (
    DaemonProcess,
    Shop,
    eventually,
    free_port,
    new_key,
    prepare_database,
    register_webhooks,
    start_shop,
    stock_baseline,
    stock_pairs,
)

ACTIVITY_SECONDS = 12.0


class LatencyWatch:
    """Time from a sale rung up to its order appearing in Unleashed, measured from outside."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.rung: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            for ref in self.shop.order_refs():
                self.seen.setdefault(ref, now)

    def start(self) -> "LatencyWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def latencies(self) -> list[float]:
        return [self.seen[n] - t for n, t in self.rung.items() if n in self.seen]


def drive(activity: StoreActivity, watch: LatencyWatch, seconds: float) -> list[str]:
    done: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        what = activity.step()
        if what:
            done.append(what)
            if what.startswith("sale "):
                watch.rung[what.split(" ", 1)[1]] = time.monotonic()
        time.sleep(0.04)
    return done


def voided_pairs(shop: Shop) -> set[tuple[str, str]]:
    """(code, outlet name) of voided sales: a void of an imported sale is not reversed in the
    inventory system (logged for the user), so those levels legitimately differ."""
    codes = {p["id"]: p["sku"] for p in shop.ls.products()}
    outlets = {o["id"]: o["name"] for o in shop.ls.outlets()}
    registers = {r["id"]: r["outlet_id"] for r in shop.ls.registers()}
    pairs = set()
    for sale in shop.ls.sales():
        if sale["status"] == "VOIDED":
            outlet = outlets.get(sale.get("outlet_id") or registers.get(sale.get("register_id"), ""), "")
            pairs |= {(codes.get(line["product_id"], ""), outlet) for line in sale.get("line_items", [])}
    return pairs


def run_shop(tmp_path: Path, *, webhooks: bool) -> dict[str, Any]:
    key = new_key()
    shop = start_shop("shop", seed=5)
    interval = 300 if webhooks else 5
    url = prepare_database(tmp_path / "daemon.sqlite", key, [shop], export_stock=True, interval_sales=interval,
                           interval_stock=interval, interval_products=interval, interval_customers=interval)
    port = free_port()
    daemon = DaemonProcess(url, key, port, tmp_path / "daemon.log", "--debounce", "0.5",
                           *(() if webhooks else ("--no-webhooks",)))
    watch = LatencyWatch(shop)
    try:
        if webhooks:
            out = register_webhooks(url, key, "shop", daemon.base)
            assert "subscribed" in out
        daemon.start().wait_ready()
        sellable = [p for p in shop.ls.products() if p.get("has_inventory", True) and p["sku"] != "vend-discount"]
        eventually(lambda: all(shop.ul.product_by_code(p["sku"]) for p in sellable), 30, what="initial import")
        stock_baseline(shop, 200)
        activity = StoreActivity([shop.ls, shop.ul], seed=11)
        watch.start()
        done = drive(activity, watch, ACTIVITY_SECONDS)
        sales = [d for d in done if d.startswith("sale ")]
        assert len(sales) >= 50 and any(d.startswith("receipt ") for d in done)

        eventually(lambda: not shop.missing_orders(), 45, what="every closed sale is an order")
        excluded = voided_pairs(shop)

        def stock_off() -> list[Any]:
            pairs = stock_pairs(shop, url, key, "shop")
            return [(k, v) for k, v in pairs.items() if k not in excluded and v[0] != v[1]]

        off: list[Any] = []

        def in_step() -> bool:
            off[:] = stock_off()
            return not off

        try:
            eventually(in_step, 45, 0.5, what="Lightspeed levels = Unleashed available")
        except AssertionError:
            raise AssertionError(f"stock not in step: {off[:6]} (voided pairs: {sorted(excluded)[:6]})") from None
        watch.stop()

        refs = shop.order_refs()
        assert len(refs) == len(set(refs)), "an order was created twice"
        sources = [o["SourceId"] for o in shop.ul.sales_orders()]
        assert len(sources) == len(set(sources))
        health = daemon.healthz()
        assert health["status"] == "ok", health
        flows = health["connections"]["shop"]["flows"]
        assert {"products", "customers", "sales", "stock"} <= set(flows)
        assert all(f["consecutive_failures"] == 0 for f in flows.values()), flows
        metrics = daemon.metrics()
        assert 'tillbridge_records_synced_total{connection="shop",flow="sales",status="created"}' in metrics
        webhook_post = httpx.post(daemon.base + "/webhooks/lightspeed/shop", content=b"payload=%7B%7D")
        if webhooks:
            assert 'outcome="accepted"' in metrics
            assert webhook_post.status_code == 401  # unsigned: refused
        else:
            assert webhook_post.status_code == 404  # no webhook routes at all
        errors = [ln for ln in daemon.log_lines() if ln.get("level") in ("error", "critical")]
        assert not errors, errors[:3]
        lat = watch.latencies()
        return {"sales": len(sales), "orders": len(refs), "median": median(lat), "max": max(lat),
                "stock_pairs": len(stock_pairs(shop, url, key, "shop")), "steps": len(done)}
    finally:
        watch.stop()
        daemon.stop()
        shop.close()


@pytest.mark.parametrize("webhooks", [True, False], ids=["webhooks", "polling"])
def test_every_sale_and_stock_change_arrives_once(tmp_path: Path, webhooks: bool) -> None:
    figures = run_shop(tmp_path, webhooks=webhooks)
    print(f"\n{'webhooks' if webhooks else 'polling only'}: {figures['sales']} sales → {figures['orders']} orders; "
          f"sale→Unleashed latency median {figures['median']:.2f}s, max {figures['max']:.2f}s; "
          f"{figures['stock_pairs']} stock levels in step")
