"""Distributed mode under SIGKILL: 2 producers and 3 workers as processes, 50 connections.

Till sales keep coming on random shops while, at 12 random moments, a random worker or the
active producer is killed with SIGKILL (and started again). At the end every closed sale is
exactly one order, every stock level is right, the standby producer took over each time the
active one died, and the jobs the killed workers left behind were retried.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from daemon_kit import (
    DaemonProcess,
    eventually,
    free_port,
    location_map,
    new_key,
    stock_baseline,
    stock_pairs,
)
from dist_kit import ShopFarm, WorkerProcess, prepare_many, producer

from tillbridge.distributed import schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SHOPS = 50
KILLS = 12
WORKERS = 3
SETTINGS = dict(export_stock=True, interval_sales=5, interval_stock=5, interval_products=60, interval_customers=120)
WORKER_ARGS = ("--concurrency", "6", "--heartbeat", "1", "--stalled-after", "3", "--shutdown-timeout", "3")


class Tills:
    """Sales rung up on random shops, four a second, until stopped."""

    def __init__(self, farm: ShopFarm, seed: int) -> None:
        self.rng = random.Random(seed)
        self.shops = farm.shops
        self.sellable = {s.name: [p["id"] for p in s.ls.products() if p.get("has_inventory", True)
                                  and p["sku"] != "vend-discount"] for s in self.shops}
        self.outlets = {s.name: [o["id"] for o in s.ls.outlets()] for s in self.shops}
        self.sales = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            shop = self.rng.choice(self.shops)
            lines = [{"product_id": pid, "quantity": Decimal(self.rng.randint(1, 2))}
                     for pid in self.rng.sample(self.sellable[shop.name], self.rng.randint(1, 2))]
            shop.ls.ring_up_sale(self.rng.choice(self.outlets[shop.name]), lines)
            self.sales += 1

    def start(self) -> "Tills":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def role(p: DaemonProcess) -> str | None:
    try:
        return p.healthz().get("role")  # type: ignore[no-any-return]
    except Exception:
        return None


def test_kill_workers_and_the_active_producer(postgres_url: str, tmp_path: Path) -> None:
    key = new_key()
    t0 = time.monotonic()

    def phase(what: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {what}", flush=True)

    farm = ShopFarm(SHOPS, products=4)
    url = prepare_many(postgres_url, key, farm.shops, **SETTINGS)
    schema.upgrade(url)
    phase("database prepared")
    producers = [producer(url, key, free_port(), tmp_path / f"producer{i}.log", "--debounce", "0.3",
                          "--no-webhooks") for i in range(2)]
    workers = [WorkerProcess(url, key, free_port(), tmp_path / f"worker{i}.log", *WORKER_ARGS) for i in range(WORKERS)]
    tills: Tills | None = None
    try:
        for p in [*producers, *workers]:
            p.start()
        for p in [*producers, *workers]:
            p.wait_ready()
        eventually(lambda: sorted(map(role, producers)) == ["active", "standby"], 30, what="one active producer")

        def imported() -> bool:
            return all(shop.ul.products() and all(shop.ul.product_by_code(p["sku"]) for p in shop.ls.products()
                                                  if p.get("has_inventory", True) and p["sku"] != "vend-discount")
                       for shop in farm.shops)

        phase("processes ready")
        eventually(imported, 90, 1.0, what="initial import of every shop")
        phase("initial import done")
        for shop in farm.shops:
            stock_baseline(shop, 300)
        tills = Tills(farm, seed=3).start()
        rng = random.Random(7)
        takeovers: list[float] = []
        killed_producers = 0
        for n in range(KILLS):
            time.sleep(rng.uniform(0.5, 2.0))
            if n % 4 == 1:  # the active producer: the standby takes over
                for p in producers:
                    p.wait_ready()
                active = next(p for p in producers if role(p) == "active")
                standby = next(p for p in producers if p is not active)
                assert role(standby) == "standby"
                active.kill()
                killed = time.monotonic()
                eventually(lambda: role(standby) == "active", 15, 0.1, what="the standby takes over")
                takeovers.append(time.monotonic() - killed)
                phase(f"standby took over in {takeovers[-1]:.1f}s")
                killed_producers += 1
                active.start()  # back as the standby
            else:
                victim = rng.choice(workers)
                victim.kill()
                victim.start()
        phase("kills done")
        tills.stop()
        for p in [*producers, *workers]:
            p.wait_ready()
        assert sorted(map(role, producers)) == ["active", "standby"]
        assert tills.sales >= 50

        def done() -> list[str]:
            return [f"{s.name}: {s.missing_orders()[:3]}" for s in farm.shops if s.missing_orders()]

        try:
            eventually(lambda: not done(), 120, 1.0, what="every closed sale is an order")
        except AssertionError:
            raise AssertionError(f"sales without an order: {done()[:5]}") from None

        phase("every sale an order")
        off: list[Any] = []
        maps = {s.name: location_map(url, key, s.name) for s in farm.shops}

        def in_step() -> bool:
            off[:] = [(s.name, k, v) for s in farm.shops
                      for k, v in stock_pairs(s, url, key, s.name, maps[s.name]).items() if v[0] != v[1]]
            return not off

        try:
            eventually(in_step, 60, 1.0, what="Lightspeed levels = Unleashed available")
        except AssertionError:
            raise AssertionError(f"stock not in step: {off[:6]}") from None
        phase("stock in step")
        for shop in farm.shops:
            refs = shop.order_refs()
            assert len(refs) == len(set(refs)) == len(shop.closed_sales()), f"{shop.name}: an order doubled or lost"
        assert killed_producers >= 3 and len(takeovers) == killed_producers
        assert max(takeovers) < 10, takeovers
        retried = sum(1 for w in workers for line in w.log_lines()
                      if "left behind by a worker that stopped" in str(line.get("message")))
        assert retried >= 1, "the killed workers' jobs should have been retried"
        errors = [ln for p in producers for ln in p.log_lines() if ln.get("level") in ("error", "critical")]
        assert not errors, errors[:3]
        print(f"\n{tills.sales} sales on {SHOPS} shops, {KILLS} kills ({killed_producers} of the active producer, "
              f"takeover in {max(takeovers):.1f}s at most), {retried} stalled jobs retried")
    finally:
        if tills is not None:
            tills.stop()
        for p in [*producers, *workers]:
            p.stop()
        farm.close()
