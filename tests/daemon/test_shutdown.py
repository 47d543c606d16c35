"""SIGTERM finishes the page in flight and exits 0; a second SIGTERM exits at once.

The Lightspeed emulator answers slowly (injected latency), so a run is surely in flight when
the signal arrives.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon_kit import DaemonProcess, Shop, eventually, free_port, new_key, prepare_database, start_shop


def start(tmp_path: Path, *extra: str) -> tuple[Shop, DaemonProcess, Path]:
    key = new_key()
    shop = start_shop("shop", seed=4, products=10)
    db = tmp_path / "daemon.sqlite"
    url = prepare_database(db, key, [shop], interval_sales=5, interval_products=900, interval_customers=900)
    daemon = DaemonProcess(url, key, free_port(), tmp_path / "daemon.log", "--no-webhooks", *extra)
    daemon.start().wait_ready()
    eventually(lambda: all(f["last_success"] for f in daemon.healthz()["connections"]["shop"]["flows"].values()),
               60, 0.3, what="first runs")
    return shop, daemon, db


def sales_running(daemon: DaemonProcess) -> dict[str, Any] | None:
    sales = daemon.healthz()["connections"]["shop"]["flows"]["sales"]
    return sales if sales["running"] else None


def runs_by_status(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM sync_run GROUP BY status").fetchall())


def test_sigterm_finishes_the_page_in_flight_and_exits_cleanly(tmp_path: Path) -> None:
    shop, daemon, db = start(tmp_path)
    try:
        product = next(p for p in shop.ls.products() if p["sku"] != "vend-discount")
        shop.ls.ring_up_sale(shop.ls.outlets()[0]["id"], [{"product_id": product["id"], "quantity": Decimal(1)}])
        shop.ls.set_faults(latency_ms=1500)  # each call of the sales run now takes 1.5 s
        eventually(lambda: sales_running(daemon), 30, 0.05, what="a sales run in flight")
        daemon.signal(signal.SIGTERM)
        signalled = time.monotonic()
        code = daemon.wait(timeout=30)
        assert code == 0, daemon.tail()
        assert time.monotonic() - signalled < 10, "SIGTERM must exit within 10 s"
        messages = [line["message"] for line in daemon.log_lines()]
        assert any(m.startswith("stopping: finishing the pages in flight") for m in messages)
        assert "tillbridge daemon stopped" in messages
        assert "running" not in runs_by_status(db), runs_by_status(db)  # the run finished and was recorded
        assert not shop.missing_orders()  # the page in flight was committed, not dropped
    finally:
        daemon.stop()
        shop.close()


def test_a_second_sigterm_exits_at_once(tmp_path: Path) -> None:
    shop, daemon, db = start(tmp_path, "--shutdown-timeout", "60")
    try:
        shop.ls.set_faults(latency_ms=20_000)  # a run that would outlast any patience
        eventually(lambda: sales_running(daemon), 30, 0.05, what="a sales run in flight")
        daemon.signal(signal.SIGTERM)
        time.sleep(0.5)
        assert daemon.proc is not None and daemon.proc.poll() is None  # still finishing its page
        daemon.signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert daemon.wait(timeout=30) == 1
        assert time.monotonic() - signalled < 10
        assert runs_by_status(db).get("running") == 1  # abandoned mid-page: safe, redone next start
    finally:
        shop.ls.clear_faults()
        daemon.stop()
        shop.close()
