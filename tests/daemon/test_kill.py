"""SIGKILL at random moments changes nothing: the killed shop ends exactly like an untouched one.

Two identical shops (same seeds, same database set-up) get the same activity, step by step. One
daemon runs undisturbed; the other is SIGKILLed at random moments 21 times and restarted each
time, while the activity goes on. Once both have caught up, every emulator holds the same
state: the same orders (once each), stock, products and customers.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon_kit import (
    DaemonProcess,
    Shop,
    eventually,
    free_port,
    new_key,
    prepare_database,
    start_shop,
    stock_baseline,
    subscribe,
)

KILLS = 21
#: Activity steps, spread over the kill loop (about 2 s per kill): about 100 sales.
STEPS = 150


class Lockstep:
    """Till sales and price edits, applied identically to every shop (stock arrives beforehand).

    Left out on purpose, because the outcome legitimately depends on timing, which is exactly
    what differs between the two runs: voids (was the sale imported before it was voided?) and
    stock receipts while sales flow (a receipt that offsets imported sales between two stock
    exports leaves the inventory's figure unchanged, and the export, which compares only that
    figure, then keeps a level published with sales subtracted that have since been imported:
    a stock-export issue reproducible with `sync --once` alone, reported separately).
    """

    def __init__(self, shops: list[Shop], seed: int) -> None:
        self.shops = shops
        self.rng = random.Random(seed)
        ref = shops[0]
        self.skus = sorted(p["sku"] for p in ref.ls.products() if p.get("has_inventory", True)
                           and p["sku"] != "vend-discount")
        self.outlets = sorted(o["name"] for o in ref.ls.outlets())
        self.customers = sorted(c["customer_code"] for c in ref.ls.customers() if c.get("customer_code"))
        self.steps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.9:
            outlet = self.rng.choice(self.outlets)
            lines = [(sku, Decimal(self.rng.randint(1, 2))) for sku in self.rng.sample(self.skus, self.rng.randint(1, 2))]
            customer = self.rng.choice(self.customers) if self.customers and self.rng.random() < 0.3 else None
            for shop in self.shops:
                outlet_id = next(o["id"] for o in shop.ls.outlets() if o["name"] == outlet)
                items = [{"product_id": shop.ls.product_by_sku(sku)["id"], "quantity": qty} for sku, qty in lines]
                cid = next((c["id"] for c in shop.ls.customers() if c.get("customer_code") == customer), None)
                shop.ls.ring_up_sale(outlet_id, items, customer_id=cid)
        else:
            sku = self.rng.choice(self.skus)
            price = (Decimal(str(self.shops[0].ls.product_by_sku(sku)["price_excluding_tax"])) * Decimal("1.05")
                     ).quantize(Decimal("0.01"))
            for shop in self.shops:
                shop.ls.update_product(shop.ls.product_by_sku(sku)["id"], price_excluding_tax=price)
        self.steps += 1

    def start(self, interval: float, steps: int) -> "Lockstep":
        def loop() -> None:
            while self.steps < steps and not self._stop.wait(interval):
                self.step()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def state_of(shop: Shop) -> dict[str, Any]:
    """Everything both systems hold that a sync touches, keyed by what the user sees (codes,
    numbers, names), not by ids an emulator made up."""
    ul, ls = shop.ul, shop.ls
    products = {p["Guid"]: p["ProductCode"] for p in ul.products()}
    warehouses = {w["Guid"]: w["WarehouseCode"] for w in ul.warehouses()}
    customers = {c["Guid"]: c["CustomerCode"] for c in ul.customers()}
    orders = {}
    for order in ul.sales_orders():
        lines = sorted((products.get(line["Product"]["Guid"]), str(line["OrderQuantity"]), str(line["UnitPrice"]))
                       for line in order["SalesOrderLines"])
        orders[order["CustomerRef"]] = (order["OrderStatus"], customers.get(order["Customer"]["Guid"]),
                                        warehouses.get(order["Warehouse"]["Guid"]), tuple(lines),
                                        str(order["SubTotal"]), str(order["TaxTotal"]))
    stock = {}
    for guid, code in products.items():
        for wguid, wcode in warehouses.items():
            soh = ul.stock_on_hand(guid, wguid)
            stock[(code, wcode)] = (soh["QtyOnHand"], soh["AllocatedQty"])
    outlets = {o["id"]: o["name"] for o in ls.outlets()}
    levels = {(p["sku"], name): ls.inventory_level(p["id"], oid) for p in ls.products() if p.get("has_inventory", True)
              for oid, name in outlets.items()}
    return {
        "orders": orders,
        "order_count": len(ul.sales_orders()),
        "ul_products": {p["ProductCode"]: (p.get("ProductDescription"), str(p.get("DefaultSellPrice"))) for p in ul.products()},
        "ul_customers": sorted(customers.values()),
        "ul_stock": stock,
        "ls_levels": levels,
        "ls_sales": sorted(s["invoice_number"] for s in shop.closed_sales()),
    }


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in a:
        if a[key] != b[key]:
            if isinstance(a[key], dict):
                keys = sorted(set(a[key]) | set(b[key]), key=str)
                out[key] = [(k, a[key].get(k), b[key].get(k)) for k in keys if a[key].get(k) != b[key].get(k)][:5]
            else:
                out[key] = (str(a[key])[:200], str(b[key])[:200])
    return out


def unfinished_runs(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM sync_run WHERE status = 'running'").fetchone()[0])


def test_sigkill_at_random_moments_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    key = new_key()
    killed_shop, steady_shop = start_shop("shop", seed=8), start_shop("shop", seed=8)
    settings = dict(export_stock=True, interval_sales=5, interval_stock=5, interval_products=5, interval_customers=5)
    dbs = [tmp_path / "killed.sqlite", tmp_path / "steady.sqlite"]
    urls = [prepare_database(db, key, [shop], **settings) for db, shop in zip(dbs, (killed_shop, steady_shop))]
    killed = DaemonProcess(urls[0], key, free_port(), tmp_path / "killed.log", "--debounce", "0.3")
    steady = DaemonProcess(urls[1], key, free_port(), tmp_path / "steady.log", "--debounce", "0.3")
    activity: Lockstep | None = None
    try:
        for daemon in (killed, steady):
            subscribe(daemon.url, key, "shop", daemon.base)
            daemon.start()
        for daemon in (killed, steady):
            daemon.wait_ready()
        for shop in (killed_shop, steady_shop):
            skus = [p["sku"] for p in shop.ls.products() if p.get("has_inventory", True) and p["sku"] != "vend-discount"]
            eventually(lambda: all(shop.ul.product_by_code(s) for s in skus), 30, what="initial import")
        for shop in (killed_shop, steady_shop):
            stock_baseline(shop, 300)  # orders always complete: no timing-dependent parking

        activity = Lockstep([killed_shop, steady_shop], seed=21).start(0.25, STEPS)
        rng = random.Random(4)
        for n in range(KILLS):
            if n % 3:  # at work: during or between runs, anywhere
                killed.wait_ready()
                time.sleep(rng.uniform(0.0, 1.0))
            else:  # while starting up
                time.sleep(rng.uniform(0.1, 0.8))
            killed.kill()
            killed.start()
        activity.stop()
        assert activity.steps > STEPS / 3
        killed.wait_ready()

        final: dict[str, Any] = {}

        def same() -> bool:
            final["killed"], final["steady"] = state_of(killed_shop), state_of(steady_shop)
            return final["killed"] == final["steady"] and not killed_shop.missing_orders()

        try:
            eventually(same, 90, 1.0, what="the killed shop equals the undisturbed one")
        except AssertionError:
            raise AssertionError(f"killed vs undisturbed: {diff(final['killed'], final['steady'])}") from None
        state = final["killed"]
        assert state["order_count"] == len(state["orders"]) == len(state["ls_sales"]), "an order is missing or doubled"
        assert killed.starts == KILLS + 1
        killed.stop()
        steady.stop()
        assert unfinished_runs(dbs[0]) >= 3, "the kills should have hit runs in flight"
        assert unfinished_runs(dbs[1]) == 0  # SIGTERM lets runs finish
    finally:
        if activity is not None:
            activity.stop()
        killed.stop()
        steady.stop()
        killed_shop.close()
        steady_shop.close()
