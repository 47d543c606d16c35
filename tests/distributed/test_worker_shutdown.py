"""A worker's SIGTERM finishes the page in flight, commits it and exits 0 within 10 s."""

from __future__ import annotations

import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
from daemon_kit import eventually, free_port, new_key, prepare_database, start_shop
from dist_kit import WorkerProcess, producer, sql

from tillbridge.distributed import schema

pytestmark = pytest.mark.postgres


def test_sigterm_finishes_the_page_in_flight(postgres_url: str, tmp_path: Path) -> None:
    key = new_key()
    shop = start_shop("shop", seed=4, products=6)
    url = prepare_database(postgres_url, key, [shop], interval_sales=5, interval_products=900,
                           interval_customers=900)
    schema.upgrade(url)
    prod = producer(url, key, free_port(), tmp_path / "producer.log", "--no-webhooks")
    worker = WorkerProcess(url, key, free_port(), tmp_path / "worker.log", "--concurrency", "2")
    try:
        prod.start()
        worker.start()
        prod.wait_ready()
        worker.wait_ready()
        eventually(lambda: sql(url, "SELECT count(*) FROM sync_run WHERE flow = 'sales' AND status = 'ok'")[0][0],
                   90, 0.5, what="a first sales run")
        product = next(p for p in shop.ls.products() if p["sku"] != "vend-discount")
        shop.ls.ring_up_sale(shop.ls.outlets()[0]["id"], [{"product_id": product["id"], "quantity": Decimal(1)}])
        shop.ls.set_faults(latency_ms=1500)  # each call of the sales run now takes 1.5 s
        eventually(lambda: any(j["flow"] == "sales" for j in worker.healthz()["running"]), 60, 0.05,
                   what="a sales run in flight")
        worker.signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert worker.wait(timeout=30) == 0, worker.tail()
        assert time.monotonic() - signalled < 10, "SIGTERM must exit within 10 s"
        messages = [str(line.get("message")) for line in worker.log_lines()]
        assert any(m.startswith("stopping: finishing the pages in flight") for m in messages)
        assert sql(url, "SELECT count(*) FROM sync_run WHERE status = 'running'")[0][0] == 0
        shop.ls.clear_faults()
        worker.start()  # whatever the stop left is run by the next worker
        eventually(lambda: not shop.missing_orders(), 60, 0.5, what="the sale is an order")
        assert len(shop.order_refs()) == len(set(shop.order_refs())) == 1
    finally:
        shop.ls.clear_faults()
        worker.stop()
        prod.stop()
        shop.close()
