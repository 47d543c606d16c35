"""The scenarios of issue 7, each measured by the emulators' own counters and the process clock."""

from __future__ import annotations

import math
import resource
import time
from datetime import datetime, timedelta, timezone
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Callable, Sequence

from tillbridge.runner import RunResult

import minimum as mins
from emuhost import UNLEASHED_CLOCK_LAG, EmulatorHost
from minimum import Catalogue, Minimum
from shop import CONNECTION, Shop

#: Opening stock per product and warehouse, received in Unleashed once products exist there.
OPENING_STOCK = 1_000
DAY = 86_400.0
#: Calls kept in hand by the client's pacer (Lightspeed connector ``reserve``): a window with
#: fewer left was spent by the previous scenario and must run out before the next one starts.
SPENT_WINDOW = 10


@dataclass
class Measurement:
    scenario: str
    seconds: float
    calls: dict[str, int]
    minimum: dict[str, dict[str, int]]
    minimum_total: int
    floor_seconds: float
    status_429: int
    rate_floor_seconds: float = 0.0  # the vendors' rate limits alone
    latency_floor_seconds: float = 0.0  # the network's round trips alone (bench --latency)
    binding: list[str] = field(default_factory=list)  # rate limits the needed calls exceed
    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    flows: list[dict[str, Any]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # expectations that failed (empty: all held)
    notes: list[str] = field(default_factory=list)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["total_calls"] = self.total_calls
        return out


def flow_rows(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    return [{"flow": r.flow, "status": r.status, "fetched": r.fetched, "created": r.created,
             "updated": r.updated, "unchanged": r.unchanged, "skipped": r.skipped, "held": r.held,
             "failed": r.failed, "error": r.error} for r in results]


class Bench:
    """Runs scenarios against one shop and one emulator host."""

    def __init__(self, shop: Shop, host: EmulatorHost, catalogue_fn: Callable[[], Catalogue],
                 time_scale: float, rate_limited: bool = True) -> None:
        self.shop = shop
        self.host = host
        self.catalogue_fn = catalogue_fn
        self.time_scale = time_scale
        self.rate_limited = rate_limited
        self.measurements: list[Measurement] = []
        self.stock_round = 0
        self.latency = 0.0  # mean seconds each emulator waits before answering (bench --latency)
        self.last_cpu = 0.0
        self.cpu_seconds = 0.0  # CPU time of this process in timed sections (engine work, no waits)
        self.flow_detail: dict[str, dict[str, Any]] = {}  # per flow of the last full sync
        self.progress: Callable[[str], None] | None = None

    # --- plumbing -----------------------------------------------------------------------------
    def settle(self) -> None:
        """Start a scenario as if it came a while after the previous one.

        Unleashed's ``modifiedSince`` is rendered to the whole second, so (with the host's clock
        lag) a poll sees the changes made in a later second than the previous crawl's start: let
        the clock pass into the next second before arranging changes. A rate-limit window the
        previous scenario left nearly spent runs out for real (the client's pacer remembers it);
        one with budget left is reset, so every scenario starts with the full budget its floor
        assumes.
        """
        time.sleep(math.ceil(time.time()) - time.time() + 0.02)
        spent = [w["seconds_left"] for w in self.host.request("windows")
                 if w["limit"] - w["used"] <= SPENT_WINDOW]
        if spent:
            time.sleep(max(spent) + 0.05)
        self.host.fresh_window()

    def _measure(self, name: str, minimum: Minimum | Callable[[], Minimum],
                 action: Callable[[], tuple[list[RunResult], float]],
                 checks: Callable[[list[RunResult], dict[str, Any]], list[str]] | None = None) -> Measurement:
        """Count and time ``action``. Call ``settle()`` first, before arranging the changes.
        ``minimum`` may be computed after the action, when it depends on what the data made of it
        (sales short of stock)."""
        self.host.reset_stats()
        results, seconds = action()
        stats = self.host.stats()
        if callable(minimum):
            minimum = minimum()
        cat = self.catalogue_fn()
        rate_floor = mins.floor_seconds(minimum, cat, self.time_scale) if self.rate_limited else 0.0
        latency_floor = mins.latency_floor_seconds(minimum, self.latency)
        m = Measurement(
            scenario=name, seconds=seconds,
            calls={system: s["total"] for system, s in stats.items()},
            minimum=minimum.parts, minimum_total=minimum.total,
            floor_seconds=max(rate_floor, latency_floor),
            rate_floor_seconds=rate_floor, latency_floor_seconds=latency_floor,
            status_429=sum(int(s["by_status"].get("429", 0)) for s in stats.values()),
            binding=mins.binding_limits(minimum, cat) if self.rate_limited else [],
            routes={system: s["by_route"] for system, s in stats.items()},
            flows=flow_rows(results),
        )
        for row in m.flows:
            row.update(self.flow_detail.pop(row["flow"], {}))
        m.checks = [f"{r.flow}: {r.status} ({r.error})" for r in results if r.status != "ok"]
        m.checks += [f"{r.flow}: {r.failed} failed, {r.held} held" for r in results if r.failed or r.held]
        if checks:
            m.checks += checks(results, stats)
        self.measurements.append(m)
        return m

    def _timed(self, fn: Callable[[], list[RunResult]]) -> tuple[list[RunResult], float]:
        """Run ``fn``; its wall time (returned) and this process's CPU time (``cpu_seconds``;
        ``last_cpu`` for this call). The emulators run in their own process (``emuhost``), so
        this is the engine's CPU alone, its push threads included."""
        cpu, started = time.process_time(), time.perf_counter()
        results = fn()
        self.last_cpu = time.process_time() - cpu
        self.cpu_seconds += self.last_cpu
        return results, time.perf_counter() - started

    # --- scenarios ----------------------------------------------------------------------------
    def full_sync(self, record: IO[str] | None = None) -> Measurement:
        """Every flow from nothing. Opening stock is received in Unleashed (Python API, no calls,
        not timed) once the products flow has created the products there."""
        self.settle()
        cat = self.catalogue_fn()

        def action() -> tuple[list[RunResult], float]:
            # Flow by flow, in sync_once's order, so the report can say where the time goes.
            results: list[RunResult] = []
            seconds = 0.0
            before = self.host.stats()
            self.shop.record_to(record)
            try:
                for flow in self.shop.flows():
                    ran, took = self._timed(lambda: self.shop.sync([flow]))
                    results += ran
                    seconds += took
                    after = self.host.stats()
                    records = sum(r.fetched for r in ran)
                    self.flow_detail[flow] = {
                        "seconds": took, "cpu_seconds": self.last_cpu, "records": records,
                        "cpu_ms_per_record": self.last_cpu * 1000 / records if records else None,
                        "calls": {s: after[s]["total"] - before.get(s, {}).get("total", 0) for s in after},
                        # the process's peak so far: which flow raised it (memory runs)
                        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
                    before = after
                    if self.progress:
                        self.progress(f"    {flow}: {sum(self.flow_detail[flow]['calls'].values())} calls, {took:.1f} s, "
                                      f"engine CPU {self.last_cpu:.2f} s ({records} records)")
                    if flow == "products":
                        if record is not None:
                            record.write('{"mark": "opening_stock"}\n')
                        self.host.request("opening_stock", quantity=OPENING_STOCK)
            finally:
                self.shop.record_to(None)
            return results, seconds

        def checks(results: list[RunResult], stats: dict[str, Any]) -> list[str]:
            by = {r.flow: r for r in results}
            out = []
            if by["products"].written != cat.products:
                out.append(f"products written {by['products'].written} != {cat.products}")
            if by["sales"].written != cat.sales:
                out.append(f"sales written {by['sales'].written} != {cat.sales}")
            if "stock" in by and by["stock"].written != cat.stocked * cat.warehouses:
                out.append(f"stock levels written {by['stock'].written} != {cat.stocked * cat.warehouses}")
            return out

        # A sale short of stock is one Unleashed leaves Parked: that is the data (stock received
        # against quantities sold), not a choice of the client; it costs two calls, not one.
        return self._measure("initial full sync", lambda: mins.full_sync(cat, short=self.host.request("parked_orders")),
                             action, checks)

    def idle_poll(self) -> Measurement:
        self.settle()
        cat = self.catalogue_fn()

        def checks(results: list[RunResult], stats: dict[str, Any]) -> list[str]:
            written = sum(r.written for r in results)
            return [f"{written} records written in an idle poll"] if written else []

        return self._measure("idle poll", mins.idle_poll(cat), lambda: self._timed(self.shop.sync), checks)

    def incremental(self, k: int, round_no: int) -> Measurement:
        """``k`` products changed at the POS (their price), then every flow."""
        self.settle()
        cat = self.catalogue_fn()
        ids = self.host.request("ls_product_ids")
        step = max(1, len(ids) // k)
        chosen = ids[::step][:k]
        self.host.request("change_ls_products", ids=chosen, round_no=round_no)

        def checks(results: list[RunResult], stats: dict[str, Any]) -> list[str]:
            by = {r.flow: r for r in results}
            written = by["products"].written
            return [] if written == len(chosen) else [f"products written {written} != {len(chosen)} changed"]

        return self._measure(f"incremental, k={k}", mins.incremental(cat, len(chosen)),
                             lambda: self._timed(self.shop.sync), checks)

    def stock_export(self, k: int) -> Measurement:
        """``k`` stock changes in Unleashed (stock received), two outlets per product, then the
        stock flow: an inventory count per outlet above the connector's threshold, else one PUT
        per changed product carrying both outlets."""
        self.settle()
        cat = self.catalogue_fn()
        keys = self.host.request("ul_stock_keys")
        products, warehouses = keys["products"], keys["warehouses"][: cat.warehouses]
        per_product = min(2, len(warehouses))
        k = min(k, len(products) * per_product)
        self.stock_round += 1
        offset = self.stock_round * 7  # each round moves other products
        pairs: list[tuple[str, str]] = []
        for i in range(k):
            p = (i // per_product + offset) % len(products)
            pairs.append((products[p], warehouses[(i % per_product + p) % len(warehouses)]))
        self.host.request("receive_stock", pairs=pairs, quantity=5)
        changed: dict[str, int] = {w: 0 for w in warehouses}
        for _, w in pairs:
            changed[w] += 1
        touched = len({p for p, _ in pairs})

        def checks(results: list[RunResult], stats: dict[str, Any]) -> list[str]:
            written = sum(r.written for r in results)
            return [] if written == k else [f"stock levels written {written} != {k} changed"]

        return self._measure(f"stock export, k={k}", mins.stock_export(cat, changed, touched),
                             lambda: self._timed(lambda: self.shop.sync(["stock"])), checks)


def invoices_scenario(bench: Bench, day: int) -> Measurement:
    """Accounting switched on (``accounting enable``: only invoices made from now on), a day's
    sales rung up at the POS and imported by the sales flow (not measured), then the invoices
    flow sends that day's invoices to the accounting provider."""
    from tillbridge_accounting import services as accounting  # present when the invoices flow is

    shop = bench.shop
    # "From now on" on the Unleashed clock, which the host runs behind the client's (see
    # UNLEASHED_CLOCK_LAG): the invoices it makes from here are stamped with its time.
    now = datetime.now(timezone.utc) - timedelta(seconds=UNLEASHED_CLOCK_LAG)
    accounting.enable(shop.app, CONNECTION, provider=shop.accounting, force=True, now=now)
    bench.settle()  # enabling crawled the invoice feed: the day's sales come after that crawl
    # A trading day later: the history imported by the full sync minutes ago belongs to earlier
    # days, as it would in a shop (Unleashed dates the day's orders and invoices from its clock).
    # The last scenario to look at Unleashed's clock: its stamps now run a day ahead.
    bench.host.request("advance_clock", emulator="unleashed", seconds=DAY)
    bench.host.request("ring_up_day", count=day, seed=day)
    imported = shop.sync(["sales"])
    bench.settle()

    def checks(results: list[RunResult], stats: dict[str, Any]) -> list[str]:
        out = [] if imported[0].written == day else [f"sales imported {imported[0].written} != {day}"]
        sent = sum(r.written for r in results)
        return out + ([] if sent == day else [f"invoices sent {sent} != {day}"])

    return bench._measure(f"invoices for a day's sales ({day})", mins.invoices(day),
                          lambda: bench._timed(lambda: shop.sync(["invoices"])), checks)


def reconcile_scenario(bench: Bench) -> Measurement:
    """``tillbridge reconcile`` for today (the retailer's trading day): the day's sales, orders
    and invoices read from the three systems, the causes of differences from our own tables.
    Run once to learn the day's size (not measured), then measured; run it after the invoices
    scenario so the day has invoices to look up."""
    from tillbridge.reconcile import reconcile, trading_zone, zone_of

    shop = bench.shop
    app = shop.app
    zone, _ = trading_zone(app.runtime(CONNECTION), app.settings(app.store.connection(CONNECTION)))
    day = datetime.now(zone_of(zone)).date()
    first = reconcile(app, CONNECTION, day)
    sales = sum(o.pos.count for o in first.outlets)
    orders = sum(o.inventory.count for o in first.outlets)
    invoices = sum(o.accounting.count for o in first.outlets if o.accounting is not None)
    bench.settle()
    app.forget_runtime(CONNECTION)  # a fresh process: no connector caches (the discount product)
    seen: dict[str, Any] = {}

    def run() -> list[RunResult]:
        seen["report"] = reconcile(app, CONNECTION, day)
        return []

    def checks(results: list[RunResult], stats: dict[str, Any]) -> list[str]:
        report = seen["report"]
        out = [] if sales else ["no sales that day to reconcile"]
        again = (sum(o.pos.count for o in report.outlets), sum(o.inventory.count for o in report.outlets))
        if again != (sales, orders):
            out.append(f"second reconciliation saw {again}, the first {(sales, orders)}")
        return out

    m = bench._measure(f"reconcile one day ({sales} sales, {orders} orders, {invoices} invoices)",
                       mins.reconcile_day(sales, orders, invoices, first.accounting),
                       lambda: bench._timed(run), checks)
    report = seen["report"]
    m.notes.append(f"{len(report.differences)} differences named"
                   + (f" (causes: {', '.join(sorted({d.cause for d in report.differences}))})"
                      if report.differences else ""))
    return m
