"""Distributed mode at scale: jobs/s and sale → order lag for 1, 2, 4 workers.

    python bench/scale.py --connections 200 --workers 1,2,4 [--seconds 60] [--concurrency 8]

Needs a PostgreSQL server (``TILLBRIDGE_TEST_POSTGRES_URL``, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/postgres); a database of its own is created and
dropped per worker count. ``--connections`` shops (a Lightspeed store and an Unleashed account
each) are served by two emulator servers in this process, every call delayed 100–200 ms (shop
``i`` waits ``100 + i % 101`` ms), so the work is I/O-bound as in production. One producer
(``tillbridge run --distributed``) and N ``tillbridge worker`` processes run; till sales arrive
at every shop at random, ``--sales-interval`` seconds apart on average per shop.

Reported per worker count: flow jobs done per second, the lag from a till sale to its Unleashed
order (p50, p95), the CPU each part used (seconds of CPU per second of wall time: 1.0 is one
core), and the scaling efficiency (jobs/s at N workers / N × jobs/s at 1 worker).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "distributed"), str(HERE.parent / "tests" / "daemon")]

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from daemon_kit import eventually, free_port, new_key, stock_baseline  # noqa: E402
from dist_kit import ShopFarm, WorkerProcess, prepare_many, producer, sql  # noqa: E402

from tillbridge.distributed import schema  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")




def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, IndexError, ValueError):
            pass
    return total


def postgres_pids() -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postgresql"):
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


class Tills:
    """Sales at random shops; remembers when each was rung up."""

    def __init__(self, farm: ShopFarm, per_shop_interval: float, seed: int = 5) -> None:
        self.farm, self.rng = farm, random.Random(seed)
        self.gap = per_shop_interval / len(farm.shops)
        self.sellable = {s.name: [p["id"] for p in s.ls.products() if p.get("has_inventory", True)
                                  and p["sku"] != "vend-discount"] for s in farm.shops}
        self.outlets = {s.name: [o["id"] for o in s.ls.outlets()] for s in farm.shops}
        self.rung: dict[tuple[str, str], float] = {}
        self._selling = threading.Event()
        self.seen: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sell, daemon=True), threading.Thread(target=self._watch,
                                                                                          daemon=True)]

    def _sell(self) -> None:
        while not self._stop.wait(self.rng.expovariate(1 / self.gap)) and not self._selling.is_set():
            shop = self.rng.choice(self.farm.shops)
            pid = self.rng.choice(self.sellable[shop.name])
            sale = shop.ls.ring_up_sale(self.rng.choice(self.outlets[shop.name]),
                                        [{"product_id": pid, "quantity": Decimal(1)}])
            self.rung[(shop.name, sale["invoice_number"])] = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            now = time.monotonic()
            for shop in self.farm.shops:
                for ref in shop.order_refs():
                    key = (shop.name, ref)
                    if key in self.rung and key not in self.seen:
                        self.seen[key] = now

    def start(self) -> "Tills":
        for t in self._threads:
            t.start()
        return self

    def stop_selling(self) -> None:
        self._selling.set()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def lags(self) -> list[float]:
        return sorted(self.seen[k] - t for k, t in self.rung.items() if k in self.seen)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


class Setup:
    """One database and ``connections`` shops, imported once; each worker count then runs on it."""

    def __init__(self, server: str, args: argparse.Namespace, workdir: Path) -> None:
        self.server, self.args, self.workdir = server, args, workdir
        self.admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        self.name = f"tillbridge_scale_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = sa.engine.make_url(server).set(database=self.name).render_as_string(hide_password=False)
        self.farm = ShopFarm(args.connections, products=args.products, seed=17)
        self.key = new_key()
        settings = dict(export_stock=True, interval_sales=args.interval, interval_stock=args.interval,
                        interval_products=600, interval_customers=600)
        prepare_many(self.url, self.key, self.farm.shops, **settings)
        schema.upgrade(self.url)

    def processes(self, workers: int) -> list[Any]:
        prod = producer(self.url, self.key, free_port(), self.workdir / f"producer-{workers}.log", "--no-webhooks")
        return [prod, *[WorkerProcess(self.url, self.key, free_port(), self.workdir / f"worker-{workers}-{i}.log",
                                      "--concurrency", str(self.args.concurrency), "--heartbeat", "2",
                                      "--stalled-after", "10") for i in range(workers)]]

    def import_all(self) -> None:
        """The initial import, without latency (not measured), by four workers."""
        procs = self.processes(4)
        try:
            for p in procs:
                p.start()
            for p in procs:
                p.wait_ready(120)
            eventually(lambda: all(len(s.ul.products()) >= self.args.products for s in self.farm.shops), 900, 1.0,
                       what="initial import")
        finally:
            for p in procs:
                p.stop()
        for shop in self.farm.shops:
            stock_baseline(shop, 10_000)
        for i, shop in enumerate(self.farm.shops):  # latency on from here: the measured part
            lat = 100 + i % 101
            shop.ls.set_faults(latency_ms=lat)
            shop.ul.set_faults(latency_ms=lat)

    def close(self) -> None:
        self.farm.close()
        with self.admin.connect() as c:
            c.execute(sa.text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}' "
                              "AND pid <> pg_backend_pid()"))
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}"'))
        self.admin.dispose()


def run_one(setup: Setup, workers: int) -> dict[str, Any]:
    args, url = setup.args, setup.url
    procs = setup.processes(workers)
    wprocs = procs[1:]
    tills: Tills | None = None
    try:
        sql(url, "DELETE FROM procrastinate_jobs WHERE status = 'todo'")  # no backlog from the previous count
        for p in procs:
            p.start()
        for p in procs:
            p.wait_ready(120)
        time.sleep(args.interval)  # warm: every flow has run once at this worker count
        done0 = sum(httpx.get(w.base + "/healthz", timeout=30).json()["jobs_done"] for w in wprocs)
        pids = [p.proc.pid for p in procs if p.proc is not None]
        cpu0 = {"workers": cpu_seconds(pids[1:]), "producer": cpu_seconds(pids[:1]),
                "postgres": cpu_seconds(postgres_pids()), "emulators+bench": time.process_time()}
        t0 = time.monotonic()
        tills = Tills(setup.farm, args.sales_interval).start()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        done1 = sum(httpx.get(w.base + "/healthz", timeout=30).json()["jobs_done"] for w in wprocs)
        cpu1 = {"workers": cpu_seconds(pids[1:]), "producer": cpu_seconds(pids[:1]),
                "postgres": cpu_seconds(postgres_pids()), "emulators+bench": time.process_time()}
        depth = sql(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND "
                         "(scheduled_at IS NULL OR scheduled_at <= now())")[0][0]
        tills.stop_selling()
        time.sleep(args.interval + 10)  # sales rung near the end arrive too (or count as late)
        tills.stop()
        lags = tills.lags()
        return {"workers": workers, "jobs_per_s": (done1 - done0) / wall, "sales": len(tills.rung),
                "orders_seen": len(lags), "lag_p50": percentile(lags, 0.5), "lag_p95": percentile(lags, 0.95),
                "queue_due_at_end": depth,
                "cpu": {k: round((cpu1[k] - cpu0[k]) / wall, 2) for k in cpu0}}
    finally:
        if tills is not None:
            tills.stop()
        for p in procs:
            p.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connections", "--scale", type=int, default=200)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--concurrency", type=int, default=8, help="jobs per worker at once")
    p.add_argument("--seconds", type=float, default=60.0, help="measured window per worker count")
    p.add_argument("--interval", type=int, default=30, help="sales and stock polling interval (s)")
    p.add_argument("--sales-interval", type=float, default=60.0, help="mean seconds between sales of one shop")
    p.add_argument("--products", type=int, default=5)
    p.add_argument("--json", type=Path)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/tillbridge-scale"))
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the processes and drop the database
    server = os.environ.get("TILLBRIDGE_TEST_POSTGRES_URL")
    if not server:
        sys.exit("set TILLBRIDGE_TEST_POSTGRES_URL to a PostgreSQL server (a database is created per run)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    t0 = time.monotonic()
    setup = Setup(server, args, args.workdir)
    try:
        print(f"prepared {args.connections} connections in {time.monotonic() - t0:.0f}s", flush=True)
        setup.import_all()
        print(f"initial import done at {time.monotonic() - t0:.0f}s", flush=True)
        for n in [int(x) for x in args.workers.split(",")]:
            r = run_one(setup, n)
            results.append(r)
            print(json.dumps(r), flush=True)
    finally:
        setup.close()
    base = results[0]["jobs_per_s"] / results[0]["workers"] if results else 0
    print(f"\n{args.connections} connections, latency 100-200 ms a call, polling every {args.interval}s, "
          f"a sale per shop every {args.sales_interval:.0f}s, worker concurrency {args.concurrency}, "
          f"{os.cpu_count()} cores")
    print(f"{'workers':>7} {'jobs/s':>7} {'eff.':>5} {'lag p50':>8} {'lag p95':>8} {'sales':>6} {'due@end':>7}  cpu "
          "(cores: workers / producer / postgres / emulators)")
    for r in results:
        eff = r["jobs_per_s"] / (r["workers"] * base) if base else float("nan")
        c = r["cpu"]
        print(f"{r['workers']:>7} {r['jobs_per_s']:>7.1f} {eff:>5.2f} {r['lag_p50']:>7.1f}s {r['lag_p95']:>7.1f}s "
              f"{r['sales']:>6} {r['queue_due_at_end']:>7}  {c['workers']:.2f} / {c['producer']:.2f} / "
              f"{c['postgres']:.2f} / {c['emulators+bench']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
                                        indent=2))


if __name__ == "__main__":
    main()
