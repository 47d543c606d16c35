"""The daemon in-process: the job list follows the database, webhooks are checked and de-duplicated,
held records go through by themselves, /healthz and /metrics answer."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tillbridge import services
from tillbridge.app import App
from tillbridge.daemon.options import DaemonOptions
from tillbridge.daemon.service import Daemon
from tillbridge.plugins import Plugins
from tillbridge_lightspeed.emulator.webhooks import build_delivery

from daemon_kit import Shop, eventually, lightspeed_credentials, new_key, prepare_database, start_shop


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = start_shop("shop", seed=6, products=8)
    yield shop
    shop.close()


def running(target: Path | str, shops: list[Shop], **settings: object) -> tuple[Daemon, str, bytes]:
    """A daemon in this process; ``target``: a directory for a SQLite file, or a database URL."""
    key = new_key()
    url = prepare_database(target if isinstance(target, str) else target / "daemon.sqlite", key, shops, **settings)
    daemon = Daemon(url, DaemonOptions(listen_port=0, reconcile_seconds=0.3, debounce=0.2, webhook_max_age=None,
                                       held_retry_seconds=3600), secret_key=key)
    daemon.start()
    return daemon, url, key


def other_process(url: str, key: bytes) -> App:
    """The CLI or the web console, changing things while the daemon runs."""
    return App(url, plugins=Plugins(), secret_key=key)


def test_the_job_list_follows_the_database_without_a_restart(tmp_path: Path, shop: Shop) -> None:
    second = start_shop("second", seed=7, products=5)
    daemon, url, key = running(tmp_path, [shop], interval_sales=30)
    try:
        jobs = daemon.scheduler
        assert {"shop:products", "shop:customers", "shop:sales"} <= jobs.job_ids()
        assert "shop:stock" not in jobs.job_ids()  # export_stock is off
        assert jobs.interval("shop:sales") == 30 and jobs.interval("shop:products") == 900
        cli = other_process(url, key)
        try:
            cli.set_settings(cli.store.connection("shop"), {"interval_sales": 12, "export_stock": True})
            eventually(lambda: jobs.interval("shop:sales") == 12 and "shop:stock" in jobs.job_ids(), 20,
                       what="new interval and the stock job")
            assert jobs.interval("shop:stock") == 60
            services.add_connection(cli, "second", {"pos": ("lightspeed", second.ls_url),
                                                    "inventory": ("unleashed", second.ul_url)})
            cid = cli.store.connection("second").id or 0
            cli.store.save_credentials(cid, "lightspeed", lightspeed_credentials(second))
            ul = second.ul.credentials(second.ul_url)
            cli.store.save_credentials(cid, "unleashed", {"api_id": ul["api_id"], "api_key": ul["api_key"]})
            eventually(lambda: "second:products" in jobs.job_ids(), 20, what="the new connection's jobs")
            eventually(lambda: second.ul.product_by_code(second.ls.products()[1]["sku"]), 30,
                       what="the new connection syncing")
            assert "second" in jobs.pools()  # its own threads
            cli.store.delete_connection("second")
            eventually(lambda: not any(j.startswith("second:") for j in jobs.job_ids()), 20, what="jobs removed")
            assert "second" not in jobs.pools()
        finally:
            cli.close()
    finally:
        daemon.stop()
        second.close()


def test_webhooks_are_verified_deduplicated_and_trigger_their_flow(database_url: str, shop: Shop) -> None:
    daemon, url, key = running(database_url, [shop], interval_sales=600)
    try:
        eventually(lambda: daemon.jobs.state("shop", "sales").last_success, 20, what="first sales run")  # type: ignore[union-attr]
        secret = shop.ls.credentials(shop.ls_url)["client_secret"]
        product = shop.ls.products()[1]
        sale = shop.ls.ring_up_sale(shop.ls.outlets()[0]["id"], [{"product_id": product["id"], "quantity": Decimal(1)}])
        delivery = build_delivery({"id": "h", "url": "u"}, "sale.update", {"id": sale["id"], "line_items": []},
                                  "store", secret)
        endpoint = daemon.url + "/webhooks/lightspeed/shop"
        first = httpx.post(endpoint, content=delivery.body, headers=delivery.headers)
        assert first.status_code == 200 and first.json() == {"accepted": 1, "duplicates": 0, "triggered": ["sales"]}
        again = httpx.post(endpoint, content=delivery.body, headers=delivery.headers)
        assert again.json() == {"accepted": 0, "duplicates": 1, "triggered": []}
        # the sales interval is 10 minutes: only the webhook can have brought the order
        eventually(lambda: sale["invoice_number"] in shop.order_refs(), 20, what="order created by the webhook")
        forged = build_delivery({"id": "h", "url": "u"}, "sale.update", {"id": "x"}, "store", "not-the-secret")
        assert httpx.post(endpoint, content=forged.body, headers=forged.headers).status_code == 401
        assert httpx.post(daemon.url + "/webhooks/lightspeed/nobody", content=delivery.body,
                          headers=delivery.headers).status_code == 404
        assert httpx.post(daemon.url + "/webhooks/unleashed/shop", content=b"{}").status_code == 401  # no key yet
        metrics = httpx.get(daemon.url + "/metrics").text
        for outcome in ("accepted", "duplicate", "rejected", "unverifiable", "unknown"):
            assert f'outcome="{outcome}"' in metrics
        cli = other_process(url, key)
        try:
            refused = [e for e in cli.store.log_entries(cli.store.connection("shop").id or 0, limit=50)
                       if e.category == "webhook"]
        finally:
            cli.close()
        assert refused and "refused" in refused[0].message and refused[0].fix
    finally:
        daemon.stop()


def test_a_sale_held_for_an_unknown_product_goes_through_once_the_product_is_imported(tmp_path: Path,
                                                                                       shop: Shop) -> None:
    daemon, url, key = running(tmp_path, [shop], interval_sales=600, interval_products=600)
    try:
        eventually(lambda: all(s.last_success for s in daemon.jobs.states()), 20, what="first runs")
        new = shop.ls.create_product("Fresh arrival", "NEW-1", Decimal("9.50"))
        sale = shop.ls.ring_up_sale(shop.ls.outlets()[0]["id"], [{"product_id": new["id"], "quantity": Decimal(2)}])
        daemon.jobs.trigger("shop", "sales", reason="test", delay=0)
        eventually(lambda: daemon.jobs.state("shop", "sales").runs >= 2, 20, what="sales run")  # type: ignore[union-attr]
        assert sale["invoice_number"] not in shop.order_refs()  # held: its product is not in Unleashed
        daemon.jobs.trigger("shop", "products", reason="test", delay=0)  # imports NEW-1...
        # ...and the held sale follows at once, without waiting for the next sales poll
        eventually(lambda: sale["invoice_number"] in shop.order_refs(), 20, what="held sale imported")
        cli = other_process(url, key)
        try:
            open_entries = cli.store.log_entries(cli.store.connection("shop").id or 0, open_only=True)
        finally:
            cli.close()
        assert not open_entries, [e.message for e in open_entries]
    finally:
        daemon.stop()


def test_healthz_and_metrics_describe_every_flow(tmp_path: Path, shop: Shop) -> None:
    daemon, _, _ = running(tmp_path, [shop], export_stock=True)
    try:
        eventually(lambda: all(s.last_success for s in daemon.jobs.states()), 20, what="first runs")
        health = httpx.get(daemon.url + "/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok"
        shop_health = body["connections"]["shop"]
        assert shop_health["status"] == "ok" and shop_health["systems"] == {"pos": "lightspeed", "inventory": "unleashed"}
        sales = shop_health["flows"]["sales"]
        for key in ("last_success", "staleness_seconds", "lag_seconds", "consecutive_failures", "backoff_seconds",
                    "next_run", "interval_seconds"):
            assert key in sales
        metrics = httpx.get(daemon.url + "/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        for name in ("tillbridge_records_synced_total", "tillbridge_flow_runs_total", "tillbridge_api_calls_total",
                     "tillbridge_api_rate_limit_remaining", "tillbridge_flow_staleness_seconds",
                     "tillbridge_flow_consecutive_failures", "tillbridge_flow_last_success_timestamp_seconds"):
            assert name in text, name
        assert 'tillbridge_api_rate_limit_remaining{connection="shop",system="lightspeed"}' in text
        index = httpx.get(daemon.url + "/").json()
        assert index["systems"] == ["lightspeed", "unleashed"]
    finally:
        daemon.stop()
    with pytest.raises(httpx.HTTPError):  # the listener is gone with the daemon
        httpx.get(daemon.url + "/healthz", timeout=2)
