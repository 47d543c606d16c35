#!/usr/bin/env python
"""tillbridge benchmark (issue 7): API calls against the minimum, time against the rate-limit floor,
engine overhead against a bare httpx loop, peak memory by size.

    python bench/run.py --size S|M|L [--json out.json] [--quick] [--time-scale 10] [--latency 150ms|80-300ms]

One command seeds the emulators, runs every scenario and prints the table. The emulators live in a
process of their own (``emuhost.py``); the engine-overhead runs, the bare httpx loop and the memory
probes each run in a fresh subprocess against freshly seeded emulators, so their clocks and peaks
do not mix. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import report  # noqa: E402
from emuhost import EmulatorHost, HostConfig  # noqa: E402
from minimum import Catalogue  # noqa: E402
from sizes import QUICK, SIZES, LS_WINDOW_SECONDS, Size, ls_limit  # noqa: E402

SCENARIOS = ("full", "idle", "incremental", "stock", "invoices", "reconcile", "naive", "overhead", "memory")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=sorted(SIZES), default="S")
    p.add_argument("--quick", action="store_true", help="shrink S further (CI smoke test: the harness works)")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    p.add_argument("--time-scale", type=float, default=None,
                   help="emulated seconds per real second for Lightspeed's 5-minute window (default 10; quick: 300)")
    p.add_argument("--latency", type=latency_arg, default=(0.0, 0.0), metavar="MS",
                   help="every emulator answers after this delay: 150ms, or a uniform range 80-300ms "
                        "(the main scenarios only; the overhead and memory runs stay at zero latency)")
    p.add_argument("--push-concurrency", type=int, default=None, metavar="N",
                   help="writes sent at once to Unleashed and the accounting provider (default: the "
                        "connectors' own defaults; 1: one at a time, as before issue 17)")
    p.add_argument("--only", default=",".join(SCENARIOS),
                   help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    p.add_argument("--memory-sizes", default=None,
                   help="sizes to probe for peak memory, e.g. S,M,L (default: S and --size)")
    p.add_argument("--workdir", type=Path, default=None, help="where the databases and the recording go")
    p.add_argument("--report", type=Path, help="print the table of an earlier run's --json file, run nothing")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    p.add_argument("--repeat", type=int, default=None,
                   help="engine/bare pairs for the overhead figure, best of each taken (default: 2 at S, else 1)")
    # internal: one measurement in a fresh process
    p.add_argument("--worker", choices=("full", "bare"), help=argparse.SUPPRESS)
    p.add_argument("--recording", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.time_scale is None:
        args.time_scale = 300.0 if args.quick else 10.0
    if args.repeat is None:
        args.repeat = 2 if args.size == "S" and not args.quick else 1
    return args


def latency_arg(text: str) -> tuple[float, float]:
    """``150ms`` → (150, 150); ``80-300ms`` → (80, 300) (milliseconds; ``ms`` optional)."""
    raw = text.strip().lower().removesuffix("ms").strip()
    try:
        low, _, high = raw.partition("-")
        lo, hi = float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--latency takes a delay like 150ms or a range like 80-300ms, not {text!r}")
    if lo < 0 or hi < lo:
        raise argparse.ArgumentTypeError(f"--latency {text!r}: the range must go from a low to a higher delay, ≥ 0")
    return lo, hi


def size_of(args: argparse.Namespace, name: str | None = None) -> Size:
    if args.quick and (name is None or name == "S"):
        return QUICK
    return SIZES[name or args.size]


def host_config(size: Size, *, time_scale: float, rate_limit: bool, accounting: str | None = None,
                latency: tuple[float, float] = (0.0, 0.0)) -> HostConfig:
    return HostConfig(products=size.products, outlets=size.outlets, sales=size.sales, customers=size.customers,
                      time_scale=time_scale, rate_limit=rate_limit, accounting=accounting,
                      latency_ms=latency[0], latency_max_ms=latency[1] if latency[1] > latency[0] else 0.0)


def catalogue(host: EmulatorHost, warehouses: int) -> Catalogue:
    counts = host.request("counts")
    return Catalogue(ls_products_all=counts["ls_products_all"], products=counts["products"],
                     stocked=counts["stocked"],
                     ls_customers_all=counts["ls_customers_all"], customers=counts["customers"],
                     ls_sales_all=counts["ls_sales_all"], sales=counts["sales"], warehouses=warehouses,
                     registers=counts["registers"])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory now (Linux ``/proc``; the process peak where that is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


class RssSampler:
    """Highest resident memory seen while a block runs (sampled every 20 ms): the sync's own
    peak, apart from whatever start-up (imports, migrations) left as the process's peak."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def accounting_setup() -> tuple[str | None, str]:
    """The accounting emulator to start when an ``invoices`` flow is registered (else why not)."""
    from tillbridge.plugins import Plugins

    registries = Plugins().registries
    if "invoices" not in registries.flows:
        return None, "no `invoices` flow is registered (the accounting plugin does not provide it yet)"
    for cls in registries.connectors.values():
        if "accounting" in cls.roles and cls.emulator in registries.emulators:
            return cls.emulator, ""
    return None, "an `invoices` flow exists but no accounting connector with an emulator does"


# --- workers (fresh processes) --------------------------------------------------------------------
def worker(args: argparse.Namespace) -> int:
    size = size_of(args)
    if args.worker == "full":
        out = worker_full(size, args)
    else:
        out = worker_bare(size, args)
    args.out.write_text(json.dumps(out))
    return 0


def worker_full(size: Size, args: argparse.Namespace) -> dict[str, Any]:
    """The full sync against zero-latency emulators (limits off): engine time and peak memory."""
    from scenarios import Bench
    from shop import Shop

    with EmulatorHost(host_config(size, time_scale=args.time_scale, rate_limit=False)) as host:
        shop = Shop(host, args.workdir)
        shop.prepare()
        cat = catalogue(host, shop.mapped)
        baseline = rss_mb()
        bench = Bench(shop, host, lambda: cat, args.time_scale, rate_limited=False)
        host_cpu = host.request("cpu_seconds")
        with RssSampler() as sampler:
            m = bench.full_sync()
        host_cpu = host.request("cpu_seconds") - host_cpu
        shop.close()
        return {**m.as_dict(), "cpu_seconds": bench.cpu_seconds, "emulator_cpu_seconds": host_cpu,
                "peak_rss_mb": sampler.peak, "baseline_rss_mb": baseline, "process_peak_rss_mb": peak_rss_mb(),
                "emulator_rss_mb": host.peak_rss_mb(),
                "seed_seconds": host.seconds_to_seed}


def worker_bare(size: Size, args: argparse.Namespace) -> dict[str, Any]:
    from bare import replay
    from scenarios import OPENING_STOCK

    with EmulatorHost(host_config(size, time_scale=args.time_scale, rate_limit=False)) as host:
        host_cpu = host.request("cpu_seconds")
        result = replay(args.recording, host.urls,
                        lambda mark: host.request("opening_stock", quantity=OPENING_STOCK))
        result["emulator_cpu_seconds"] = host.request("cpu_seconds") - host_cpu
        result["server_counted"] = sum(s["total"] for s in host.stats().values())
        return result


def run_worker(kind: str, size_name: str, args: argparse.Namespace, workdir: Path,
               recording: Path | None = None, tag: str = "") -> dict[str, Any]:
    name = f"{kind}-{size_name}{tag}"
    out = workdir / f"{name}.json"
    cmd = [sys.executable, str(HERE / "run.py"), "--worker", kind, "--size", size_name if size_name in SIZES else "S",
           "--time-scale", str(args.time_scale), "--out", str(out), "--workdir", str(workdir / name)]
    if args.quick:
        cmd.append("--quick")
    if recording is not None:
        cmd += ["--recording", str(recording)]
    (workdir / name).mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())  # type: ignore[no-any-return]


# --- the main run ------------------------------------------------------------------------------------
def naive_pass(shop: Any, host: EmulatorHost, cat: Catalogue, time_scale: float) -> dict[str, Any]:
    """One run of every flow as a naive script would (limits off): calls and time per flow."""
    import naive

    host.request("unlimited")
    naive.install(shop)
    naive.forget_changes(shop)
    per_flow: dict[str, dict[str, Any]] = {}
    for flow in [f for f in shop.flows() if f != "invoices"]:  # invoices are sent once, by design
        host.reset_stats()
        started = time.perf_counter()
        results = shop.sync([flow])
        seconds = time.perf_counter() - started
        stats = host.stats()
        per_flow[flow] = {"seconds": seconds, "calls": {s: v["total"] for s, v in stats.items()},
                          "written": sum(r.written for r in results),
                          "status": [r.status for r in results]}
    rate = ls_limit(cat.registers) / LS_WINDOW_SECONDS

    def total(flows: list[str]) -> dict[str, Any]:
        ls = sum(per_flow[f]["calls"].get("lightspeed", 0) for f in flows)
        return {"calls": sum(sum(per_flow[f]["calls"].values()) for f in flows),
                "seconds": sum(per_flow[f]["seconds"] for f in flows),
                "floor_seconds": ls / rate / time_scale, "lightspeed_calls": ls}

    return {"per_flow": per_flow, "all": total(list(per_flow)), "stock": total(["stock"] if "stock" in per_flow else [])}


def main_run(args: argparse.Namespace) -> dict[str, Any]:
    from scenarios import Bench
    from shop import Shop

    size = size_of(args)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tillbridge-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    recording = workdir / "full-sync.requests.jsonl"
    accounting, why_not = accounting_setup() if "invoices" in only else (None, "not asked for")
    out: dict[str, Any] = {
        "size": size.name, "retailer": {"products": size.products, "outlets": size.outlets, "sales": size.sales,
                                        "customers": size.customers},
        "time_scale": args.time_scale, "python": platform.python_version(), "machine": platform.machine(),
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "scenarios": [], "notes": [], "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0],
        "latency_ms": list(args.latency), "push_concurrency": args.push_concurrency or "defaults",
    }
    lat = args.latency
    print(f"tillbridge bench: size {size.name} ({size.products} products, {size.outlets} outlets, "
          f"{size.sales} sales), time scale {args.time_scale:g}"
          + (f", latency {lat[0]:g}–{lat[1]:g} ms" if lat[1] > lat[0] else f", latency {lat[0]:g} ms" if lat[0] else ""),
          flush=True)
    needs_main = only & {"full", "idle", "incremental", "stock", "invoices", "reconcile", "naive", "overhead"}
    if needs_main:
        started = time.perf_counter()
        with EmulatorHost(host_config(size, time_scale=args.time_scale, rate_limit=True, accounting=accounting,
                                      latency=args.latency)) as host:
            print(f"  emulators seeded in {host.seconds_to_seed:.1f} s", flush=True)
            shop = Shop(host, workdir / "main")
            pushing = args.push_concurrency
            shop.prepare({"unleashed_push_concurrency": pushing, "accounting_push_concurrency": pushing}
                         if pushing else None)
            cat = catalogue(host, shop.mapped)
            out["catalogue"] = cat.__dict__
            out["flows"] = shop.flows()
            bench = Bench(shop, host, lambda: cat, args.time_scale)
            bench.latency = (args.latency[0] + args.latency[1]) / 2000.0  # mean, in seconds
            bench.progress = lambda line: print(line, flush=True)

            def show(m: Any) -> None:
                out["scenarios"].append(m.as_dict())
                print(f"  {m.scenario}: {m.total_calls} calls (min {m.minimum_total}), {m.seconds:.2f} s "
                      f"(floor {m.floor_seconds:.2f} s: rate {m.rate_floor_seconds:.2f}, latency "
                      f"{m.latency_floor_seconds:.2f}), {m.status_429}×429"
                      + (f"  CHECKS: {'; '.join(m.checks)}" if m.checks else ""), flush=True)

            with recording.open("w") as rec:
                show(bench.full_sync(rec))
            if "idle" in only:
                show(bench.idle_poll())
            if "incremental" in only:
                for n, k in enumerate(size.ks, start=1):
                    show(bench.incremental(k, n))
            if "stock" in only:
                for k in size.ks:
                    show(bench.stock_export(k))
            if "invoices" in only:
                if accounting:
                    from scenarios import invoices_scenario

                    show(invoices_scenario(bench, day=max(10, size.sales // 100)))
                else:
                    out["notes"].append(f"invoices: not measured — {why_not}")
            if "reconcile" in only:
                from scenarios import reconcile_scenario

                show(reconcile_scenario(bench))
            if "naive" in only:
                print("  naive baseline (one run of every flow, limits off)…", flush=True)
                out["naive"] = naive_pass(shop, host, cat, args.time_scale)
            shop.close()
            out["main_process_peak_rss_mb"] = peak_rss_mb()
            out["emulator_host_peak_rss_mb"] = host.peak_rss_mb()
        out["main_seconds"] = time.perf_counter() - started
    if "overhead" in only and recording.exists():
        print("  engine overhead: full sync against zero-latency emulators, then the bare httpx loop…", flush=True)
        engines, bares = [], []
        for n in range(args.repeat):  # alternated, so a burst of load elsewhere hits both alike
            engines.append(run_worker("full", args.size, args, workdir, tag=str(n)))
            bares.append(run_worker("bare", args.size, args, workdir, recording, tag=str(n)))
            print(f"  engine {engines[-1]['seconds']:.2f} s, bare httpx {bares[-1]['seconds']:.2f} s "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)", flush=True)
        out["engine"] = min(engines, key=lambda r: r["seconds"])
        out["bare"] = min(bares, key=lambda r: r["seconds"])
        out["overhead_runs"] = [{"engine_seconds": e["seconds"], "engine_cpu_seconds": e["cpu_seconds"],
                                 "engine_emulator_cpu_seconds": e["emulator_cpu_seconds"],
                                 "bare_seconds": b["seconds"], "bare_cpu_seconds": b["cpu_seconds"],
                                 "bare_emulator_cpu_seconds": b["emulator_cpu_seconds"]}
                                for e, b in zip(engines, bares)]
    if "memory" in only:
        sizes = (args.memory_sizes.split(",") if args.memory_sizes else sorted({"S", args.size}))
        peaks: dict[str, dict[str, float]] = {}
        for name in sizes:
            name = name.strip().upper()
            if name == args.size and "engine" in out:
                probe = out["engine"]
            else:
                print(f"  memory probe: full sync at size {name} in a fresh process…", flush=True)
                probe = run_worker("full", name, args, workdir)
            peaks[QUICK.name if args.quick and name == "S" else name] = {
                "peak_rss_mb": probe["peak_rss_mb"], "baseline_rss_mb": probe["baseline_rss_mb"],
                "process_peak_rss_mb": probe.get("process_peak_rss_mb", probe["peak_rss_mb"]),
                "seconds": probe["seconds"], "emulator_rss_mb": probe.get("emulator_rss_mb")}
        out["memory"] = peaks
    return out


def rows_of(out: dict[str, Any]) -> list[report.Row]:
    rows: list[report.Row] = []
    bare = out.get("bare")
    for m in out["scenarios"]:
        rows += report.scenario_rows(m, work_floor=bare["seconds"] if bare else None)
    rows += report.cpu_rows(out["scenarios"])
    if "engine" in out or "bare" in out:
        rows.append(report.overhead_row(out.get("engine"), out.get("bare")))
    if "memory" in out:
        rows += report.memory_rows(out["memory"])
    rows += report.naive_rows(out.get("naive"), out["scenarios"])
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        return worker(args)
    if args.report:
        out = json.loads(args.report.read_text())
        rows = rows_of(out)
        print(report.markdown(rows) if args.markdown else report.render(rows))
        for note in out["notes"]:
            print(f"  * {note}")
        return 0
    out = main_run(args)
    rows = rows_of(out)
    out["table"] = [r.__dict__ for r in rows]
    print()
    print(report.render(rows))
    for note in out["notes"]:
        print(f"  * {note}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str))
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
