"""Lightspeed calls of a stock export of k levels, per-product PUT vs inventory count.

    python bench/stocktake_calls.py [--k 10000] [--outlets 2] [--batch N]

Pushes k stock levels (k / outlets products, each at ``outlets`` outlets, as the bench's stock
scenario moves them) through the Lightspeed connector to its emulator, cut into the runner's push
batches (``tillbridge.push._batches``), once with counts off (``stock_count_threshold`` 0: one
PUT per product) and once with the default threshold; prints the calls, the seconds, and checks
every level is exact. No Unleashed and no database: the Lightspeed side of the stock export only.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import httpx

from tillbridge import ConnectorContext, Outgoing, StockLevel
from tillbridge.emulation import BackgroundServer
from tillbridge.push import _batches
from tillbridge_lightspeed.connector import LightspeedConnector
from tillbridge_lightspeed.emulator import LightspeedEmulator


def run(k: int, outlets: int, threshold: int, batch: int | None) -> tuple[int, float, bool]:
    products = k // outlets
    emulator = LightspeedEmulator(seed=3, time_scale=60, options={
        "products": products, "customers": 1, "outlets": outlets, "rate_limit": False})
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            ctx = ConnectorContext(connection="bench", system="lightspeed", base_url=server.url,
                                   credentials={"access_token": token}, save_credentials=lambda v: None,
                                   settings={"stock_count_threshold": threshold}, http=http)
            conn = LightspeedConnector(ctx)
            ids = [p["id"] for p in emulator.store.products.values()
                   if p["has_inventory"] and not p["is_composite"] and p["sku"] != "vend-discount"]
            outs = [o["id"] for o in emulator.store.outlets.values()]
            levels = [Outgoing(entity=StockLevel(id=f"{pid}@{o}", product_id=pid, location_id=o,
                                                 on_hand=Decimal(n % 9), available=Decimal(n % 9)),
                               target_id="", exists=True, source_key=f"{pid}@{o}", source_id=f"{pid}@{o}")
                      for n, pid in enumerate(ids) for o in outs]
            emulator.stats.reset()
            t0 = time.perf_counter()
            # as the runner does: pages gathered to push_gather levels, then one push (cut at
            # push_batch_limit); --batch N pushes N levels at a time instead
            size = batch or conn.push_gather("stock") or conn.push_batch_limit("stock")
            for start, end in _batches(levels, size):
                conn.push("stock", levels[start:end])
            took = time.perf_counter() - t0
            calls = emulator.stats.total
            exact = all(emulator.store.inventory_record(o.entity.product_id, o.entity.location_id)["inventory_level"]
                        == o.entity.available for o in levels)  # type: ignore[attr-defined, index]
    emulator.close()
    return calls, took, exact


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--k", type=int, default=10_000)
    p.add_argument("--outlets", type=int, default=2)
    p.add_argument("--batch", type=int, default=None, help="push batch size (default: the connector's)")
    a = p.parse_args()
    before = run(a.k, a.outlets, 0, a.batch)
    after = run(a.k, a.outlets, 50, a.batch)
    print(f"k={a.k} outlets={a.outlets}: per-product PUT {before[0]} calls {before[1]:.1f} s exact={before[2]}; "
          f"inventory count {after[0]} calls {after[1]:.1f} s exact={after[2]}; ratio {before[0] / max(1, after[0]):.1f}x")


if __name__ == "__main__":
    main()
