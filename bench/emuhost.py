"""The emulators of one benchmark run, in a process of their own.

Why a separate process: the emulators hold the whole retailer (at size L, 100,000 products and
500,000 sales: gigabytes), and they burn CPU answering requests. In the engine's process they
would swamp its peak memory (the figure we want to see stay flat) and share its GIL (the figure
we want to compare with a bare httpx loop). Here they get the second core and their own heap.

The parent drives the host through a pipe: ``EmulatorHost.call()`` runs a method of an emulator's
Python API (``receive_stock``, ``update_product``...) inside the host, so arranging a scenario
spends no API calls; ``stats()`` returns the emulators' own request counters.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

#: Unleashed stamps records with its own clock, and the connector asks for what changed since 60 s
#: before the previous crawl began (``OVERLAP``, against clock skew), to the whole second. Between
#: two benchmark scenarios only seconds pass, so every "idle" poll would re-read the previous
#: scenario's writes. Running the Unleashed clock 61 s behind the client's makes each poll see the
#: records changed since the previous crawl began, as polls more than a minute apart would.
UNLEASHED_CLOCK_LAG = 61.0


@dataclass
class HostConfig:
    """What to start. ``accounting``: name of an accounting emulator (``xero``) or ``None``."""

    products: int
    outlets: int
    sales: int
    customers: int
    time_scale: float = 10.0
    rate_limit: bool = True
    seed: int = 7
    accounting: str | None = None
    accounting_time_scale: float | None = None
    extra_ls: dict[str, Any] = field(default_factory=dict)
    #: every API answer waits this long (ms; uniform between the two when ``latency_max_ms`` is higher)
    latency_ms: float = 0.0
    latency_max_ms: float = 0.0


#: Time scale of "zero-latency" emulators: Lightspeed's 5-minute window passes in 0.3 ms. With its
#: limit switched off the emulator still counts calls and reports ``X-RateLimit-Remaining``, which
#: the client paces on; at this scale every answer shows a fresh window.
ZERO_LATENCY_SCALE = 1e6


class HostError(RuntimeError):
    """An operation failed inside the emulator host (the message carries its traceback)."""


class EmulatorHost:
    """Parent-side handle of the emulator host process."""

    def __init__(self, config: HostConfig) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(config, child), name="bench-emulators", daemon=True)
        started = time.perf_counter()
        self.process.start()
        child.close()
        ready = self._receive()
        self.seconds_to_seed = time.perf_counter() - started
        self.urls: dict[str, str] = ready["urls"]
        self.credentials: dict[str, dict[str, Any]] = ready["credentials"]
        self.config = config

    def _receive(self) -> Any:
        if not self._conn.poll(900):
            raise HostError("the emulator host did not answer in 15 minutes")
        status, value = self._conn.recv()
        if status == "error":
            raise HostError(value)
        return value

    def request(self, op: str, **kwargs: Any) -> Any:
        self._conn.send((op, kwargs))
        return self._receive()

    def call(self, emulator: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``emulator.method(*args, **kwargs)`` in the host; returns its (picklable) result."""
        return self.request("call", emulator=emulator, method=method, args=args, kwargs=kwargs)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Request counters of every emulator: ``{name: {"total", "by_route", "by_status"}}``."""
        return self.request("stats")  # type: ignore[no-any-return]

    def reset_stats(self) -> None:
        self.request("reset_stats")

    def fresh_window(self) -> None:
        """Start every rate-limit window afresh (each scenario begins with a full budget)."""
        self.request("fresh_window")

    def set_rate_limit(self, enabled: bool) -> None:
        self.request("set_rate_limit", enabled=enabled)

    def peak_rss_mb(self) -> float:
        return float(self.request("peak_rss_mb"))

    def close(self) -> None:
        if self.process.is_alive():
            try:
                self._conn.send(("stop", {}))
                self._conn.poll(10)
            except (BrokenPipeError, OSError):
                pass
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> "EmulatorHost":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- inside the host process ---------------------------------------------------------------------
def _serve(config: HostConfig, conn: Connection) -> None:
    try:
        host = _Host(config)
    except BaseException:
        conn.send(("error", traceback.format_exc()))
        return
    conn.send(("ok", {"urls": host.urls, "credentials": host.credentials}))
    while True:
        try:
            op, kwargs = conn.recv()
        except EOFError:
            break
        if op == "stop":
            host.stop()
            conn.send(("ok", None))
            break
        try:
            conn.send(("ok", host.handle(op, kwargs)))
        except BaseException:
            conn.send(("error", traceback.format_exc()))
    host.stop()


class _Host:
    def __init__(self, config: HostConfig) -> None:
        from tillbridge.emulation import BackgroundServer
        from tillbridge_lightspeed.emulator import LightspeedEmulator
        from tillbridge_unleashed.emulator import UnleashedEmulator

        ls_options = {"products": config.products, "outlets": config.outlets, "sales": config.sales,
                      "customers": config.customers, "rate_limit": config.rate_limit, **config.extra_ls}
        # Unleashed starts empty but for its warehouses (one per outlet): everything else comes
        # from the POS through the flows, as when a retailer first connects the two.
        ul_options = {"warehouses": config.outlets, "products": 0, "customers": 0, "components_kit": False}
        # Unleashed documents no per-second limit, only a monthly quota: it needs no time scaling.
        self.emulators: dict[str, Any] = {
            "lightspeed": LightspeedEmulator(seed=config.seed, time_scale=config.time_scale, options=ls_options),
            "unleashed": UnleashedEmulator(seed=config.seed, time_scale=1.0, options=ul_options),
        }
        self.emulators["unleashed"].clock.advance(-UNLEASHED_CLOCK_LAG)
        if not config.rate_limit:
            self.op_unlimited()
        if config.accounting:
            from tillbridge.plugins import Plugins

            emulator_cls = Plugins().registries.emulators[config.accounting]
            scale = config.accounting_time_scale or config.time_scale
            self.emulators[config.accounting] = emulator_cls(seed=config.seed, time_scale=scale)
        for emulator in self.emulators.values():  # the network's round trip (bench --latency)
            emulator.fault_config.update({"latency_ms": config.latency_ms, "latency_max_ms": config.latency_max_ms})
        self.servers = {name: BackgroundServer(emu).start() for name, emu in self.emulators.items()}
        self.urls = {name: server.url for name, server in self.servers.items()}
        self.credentials = {name: self.emulators[name].credentials(url) for name, url in self.urls.items()}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        for emulator in self.emulators.values():
            close = getattr(emulator, "close", None)
            if callable(close):
                close()

    def handle(self, op: str, kwargs: dict[str, Any]) -> Any:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise ValueError(f"unknown emulator host operation {op!r}")
        return handler(**kwargs)

    # --- operations -------------------------------------------------------------------------------
    def op_call(self, emulator: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return getattr(self.emulators[emulator], method)(*args, **kwargs)

    def op_stats(self) -> dict[str, dict[str, Any]]:
        return {name: emu.stats.as_dict() for name, emu in self.emulators.items()}

    def op_reset_stats(self) -> None:
        for emu in self.emulators.values():
            emu.stats.reset()

    def _window_counters(self) -> list[tuple[str, Any, Any, int]]:
        """(emulator, counter, clock, per-window limit) of every rate limit with a short window."""
        ls = self.emulators["lightspeed"]
        out: list[tuple[str, Any, Any, int]] = [("lightspeed", ls.limiter._counter, ls.clock, ls.limiter.limit())]
        for name, emu in self.emulators.items():
            counter = getattr(emu, "minute_counter", None)  # Xero: 60 calls a minute per tenant
            if counter is not None:
                per_minute = int(getattr(getattr(emu, "settings", None), "per_minute", 60))
                out.append((name, counter, emu.clock, per_minute))
        return out

    def op_fresh_window(self) -> None:
        for _, counter, _, _ in self._window_counters():
            counter.reset()

    def op_windows(self) -> list[dict[str, Any]]:
        """Each open rate-limit window: calls used, its limit, real seconds until it ends."""
        out = []
        for name, counter, clock, limit in self._window_counters():
            now = clock.time()
            with counter._lock:
                windows = dict(counter._windows)
            for key, (start, count) in windows.items():
                if key.startswith("app:"):
                    continue  # Xero's per-app minute (10,000) never binds one tenant
                out.append({"emulator": name, "used": count, "limit": limit,
                            "seconds_left": max(0.0, clock.real_seconds(start + counter._window - now))})
        return out

    def op_set_rate_limit(self, enabled: bool) -> None:
        self.emulators["lightspeed"].set_rate_limit(enabled)

    def op_unlimited(self) -> None:
        """Zero latency from here on: no 429s, and a Lightspeed window so short (the clock runs
        at ``ZERO_LATENCY_SCALE``) that every answer shows a fresh budget, so the client's pacer,
        which trusts ``X-RateLimit-Remaining``, never waits either."""
        ls = self.emulators["lightspeed"]
        ls.set_rate_limit(False)
        ls.clock.set_scale(ZERO_LATENCY_SCALE)
        ls.limiter.reset()

    def op_advance_clock(self, emulator: str, seconds: float) -> None:
        self.emulators[emulator].clock.advance(seconds)

    def op_cpu_seconds(self) -> float:
        """CPU time the host has used (answering requests is most of it)."""
        return time.process_time()

    def op_peak_rss_mb(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def op_sizes(self) -> dict[str, int]:
        ls, ul = self.emulators["lightspeed"], self.emulators["unleashed"]
        with ls.lock:
            counts = {f"ls_{name}": len(coll) for name, coll in ls.store.collections.items()}
        with ul.lock:
            counts.update(ul_products=len(ul.state.products), ul_customers=len(ul.state.customers),
                          ul_orders=len(ul.state.orders), ul_warehouses=len(ul.state.warehouses))
        return counts

    def op_counts(self) -> dict[str, int]:
        """What the minimum-calls formulas need to know about the POS's data."""
        ls = self.emulators["lightspeed"]
        closed = {"CLOSED", "ONACCOUNT_CLOSED", "LAYBY_CLOSED", "DISPATCHED_CLOSED", "PICKED_UP_CLOSED",
                  "SERVICE_CLOSED"}
        with ls.lock:
            store = ls.store
            products = [p for p in store.products.values()
                        if p.get("deleted_at") is None and p["id"] != store.discount_product_id]
            sales = list(store.sales.values())
            return {
                "ls_products_all": len(store.products),
                "products": len(products),
                # Products whose stock Lightspeed keeps (has_inventory, not composite): the only
                # ones the stock export writes to.
                "stocked": sum(1 for p in products if p.get("has_inventory", True)
                               and not p.get("is_composite")),
                "ls_customers_all": len(store.customers),
                "customers": sum(1 for c in store.customers.values() if c.get("deleted_at") is None),
                "ls_sales_all": len(sales),
                "sales": sum(1 for s in sales if s.get("status") in closed and not s.get("return_for")
                             and all(Decimal(str(i.get("quantity") or 0)) >= 0 for i in s.get("line_items") or [])),
                "registers": ls.store.active_register_count(),
            }

    def op_parked_orders(self) -> int:
        """Unleashed sales orders left Parked (short of stock when they were completed)."""
        ul = self.emulators["unleashed"]
        with ul.lock:
            return sum(1 for o in ul.state.orders.values() if o["OrderStatus"] == "Parked")

    def op_ls_product_ids(self) -> list[str]:
        """Ids of the user products the POS sells (not deleted, not Lightspeed's discount product)."""
        ls = self.emulators["lightspeed"]
        with ls.lock:
            discount = ls.store.discount_product_id
            return sorted(p["id"] for p in ls.store.products.values()
                          if p.get("deleted_at") is None and p["id"] != discount)

    def op_change_ls_products(self, ids: list[str], round_no: int) -> int:
        """Change the price of each product (one real change each, as a retailer's edit)."""
        ls = self.emulators["lightspeed"]
        for n, product_id in enumerate(ids):
            price = Decimal(10 + (n + round_no * 7) % 90) + Decimal("0.95")
            ls.update_product(product_id, price_excluding_tax=price)
        return len(ids)

    def op_opening_stock(self, quantity: int) -> int:
        """Receive ``quantity`` of every Unleashed product in every warehouse (before any sale):
        one completed "Stock received" adjustment per warehouse, as ``receive_stock`` makes one
        per product (two million adjustment records at size L would only burden the host)."""
        from tillbridge_unleashed.emulator.adjustments import create_adjustment

        ul = self.emulators["unleashed"]
        with ul.lock:
            # Never-diminishing products (services at the POS) hold no stock.
            products = sorted(g for g, p in ul.state.products.items() if not p["NeverDiminishing"])
            for warehouse in sorted(ul.state.warehouses):
                create_adjustment(ul.state, ul.new_id(), {
                    "Warehouse": {"Guid": warehouse}, "AdjustmentReason": "Stock received",
                    "StockAdjustmentLines": [{"Product": {"Guid": p}, "NewQuantity": Decimal(quantity)}
                                             for p in products],
                })
            return len(products) * len(ul.state.warehouses)

    def op_receive_stock(self, pairs: list[tuple[str, str]], quantity: int) -> int:
        ul = self.emulators["unleashed"]
        for product, warehouse in pairs:
            ul.receive_stock(product, warehouse, Decimal(quantity))
        return len(pairs)

    def op_ul_stock_keys(self) -> dict[str, list[str]]:
        """Unleashed product Guids (by code) and warehouse Guids (by code), for choosing changes."""
        ul = self.emulators["unleashed"]
        with ul.lock:
            products = [p["Guid"] for p in sorted(ul.state.products.values(), key=lambda p: p["ProductCode"].upper())
                        if not p.get("Obsolete") and p["ProductCode"] != "DISCOUNT" and not p["NeverDiminishing"]]
            warehouses = [w["Guid"] for w in sorted(ul.state.warehouses.values(), key=lambda w: w["WarehouseCode"])]
        return {"products": products, "warehouses": warehouses}

    def op_ring_up_day(self, count: int, seed: int) -> int:
        """Ring up ``count`` closed sales spread over the outlets (a trading day)."""
        import random

        ls = self.emulators["lightspeed"]
        rng = random.Random(seed)
        outlets = [o["id"] for o in ls.outlets()]
        products = self.op_ls_product_ids()
        for n in range(count):
            picked = rng.sample(products, k=min(len(products), 1 + n % 3))
            lines = [{"product_id": pid, "quantity": 1 + (n + i) % 2} for i, pid in enumerate(picked)]
            ls.ring_up_sale(outlets[n % len(outlets)], lines)
        return count
