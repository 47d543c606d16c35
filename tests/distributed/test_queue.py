"""Distributed mode on the real PostgreSQL: schema, the flow job, its locks, tenancy, stalled jobs.

No mock of the queue: jobs go through Procrastinate's own tables and functions; a worker drains
them in-process (``Worker.drain``) so each test is deterministic.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Iterator

import pytest
from daemon_kit import Shop, eventually, new_key, prepare_database, start_shop, stock_baseline
from dist_kit import jobs, sql

from tillbridge.app import App
from tillbridge.distributed import schema
from tillbridge.distributed.queue import build_app, defer_flow, lock_for
from tillbridge.distributed.worker import Worker, WorkerOptions
from tillbridge.plugins import Plugins
from tillbridge.services import ordered_flows

pytestmark = pytest.mark.postgres

FLOWS = ("products", "customers", "sales", "stock")


@pytest.fixture
def shops() -> Iterator[list[Shop]]:
    made = [start_shop("north", seed=5, products=8), start_shop("south", seed=6, products=8)]
    yield made
    for shop in made:
        shop.close()


@pytest.fixture
def key() -> bytes:
    return new_key()


@pytest.fixture
def url(postgres_url: str, shops: list[Shop], key: bytes) -> str:
    prepare_database(postgres_url, key, shops, export_stock=True)
    schema.upgrade(postgres_url)
    return postgres_url


@pytest.fixture
def producer(url: str) -> Iterator:
    app = build_app(url, sync=True)
    app.open()
    yield app
    app.close()


@pytest.fixture
def worker(url: str, key: bytes) -> Iterator[Worker]:
    w = Worker(url, WorkerOptions(concurrency=2, stalled_after=1), secret_key=key)
    yield w
    w.close()


def flows_of(url: str, key: bytes) -> dict:
    app = App(url, plugins=Plugins(), secret_key=key)
    try:
        return {f.name: f for f in ordered_flows(app)}
    finally:
        app.close()


def defer_all(producer, flows: dict, connection: str, names=FLOWS) -> list[bool]:
    return [defer_flow(producer, connection, flows[name], reason="test", interval=5) for name in names]


def test_schema_installed_once_and_tracked(url: str) -> None:
    assert schema.installed_version(url) is not None
    assert schema.upgrade(url) == []  # already up to date: nothing done
    assert sql(url, "SELECT to_regclass('procrastinate_jobs') IS NOT NULL")[0][0]


def test_schema_upgrade_picks_the_newer_migrations_in_order() -> None:
    names = [p.name for p in schema.pending("3.2.0", "3.10.0")]
    assert names[0].startswith("03.03.00") and names[-1].startswith("03.04.00_50")
    assert names == sorted(names) and not any(n.startswith(("03.02", "02.")) for n in names)
    assert schema.pending("3.10.0", "3.10.0") == []


def test_a_newer_queue_schema_is_left_alone(url: str) -> None:
    sql(url, "UPDATE tillbridge_queue_schema SET version = '3.99.0'")
    assert "newer than the installed" in " ".join(schema.upgrade(url))
    assert schema.installed_version(url) == "3.99.0"


def test_a_flow_job_runs_with_the_runner_and_is_queued_once(url: str, key: bytes, shops, producer,
                                                            worker: Worker) -> None:
    north = shops[0]
    flows = flows_of(url, key)
    assert defer_all(producer, flows, "north") == [True] * 4
    assert defer_all(producer, flows, "north") == [False] * 4  # queueing lock: one waiting job per flow
    assert len(jobs(url, "status = 'todo'")) == 4
    assert worker.drain() >= 4
    skus = {p["sku"] for p in north.ls.products() if p.get("has_inventory", True)}
    assert skus and all(north.ul.product_by_code(s) for s in skus - {"vend-discount"})
    stock_baseline(north, 50)
    outlet = north.ls.outlets()[0]["id"]
    product = next(p for p in north.ls.products() if p["sku"] in skus and p["sku"] != "vend-discount")
    north.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": Decimal(2)}])
    assert defer_all(producer, flows, "north", ("sales",)) == [True]
    worker.drain()
    assert not north.missing_orders()
    refs = north.order_refs()
    assert len(refs) == len(set(refs)) == len(north.closed_sales())
    # the same sale queued again writes nothing new
    assert defer_all(producer, flows, "north", ("sales",)) == [True]
    worker.drain()
    assert north.order_refs() == refs


def test_lock_per_connection_and_pair_of_roles(url: str, key: bytes, producer) -> None:
    """The sales import and the stock export of a connection never run at once (either order);
    another connection's flows are not held back by them."""
    flows = flows_of(url, key)
    assert lock_for("north", flows["sales"]) == lock_for("north", flows["stock"]) != lock_for("south", flows["sales"])
    defer_all(producer, flows, "north", ("sales", "stock"))
    defer_all(producer, flows, "south", ("sales",))

    async def fetch_all() -> list:
        app = build_app(url)
        async with app.open_async():
            wid = await app.job_manager.register_worker()
            got = []
            while (job := await app.job_manager.fetch_job(None, wid)) is not None:
                got.append(job)
            return got

    fetched = asyncio.run(fetch_all())
    assert sorted((j.task_kwargs["connection"], j.task_kwargs["flow"]) for j in fetched) == [
        ("north", "sales"), ("south", "sales")]
    assert [r["flow"] for r in jobs(url, "status = 'todo'")] == ["stock"]  # waits for north's sales


def test_a_job_touches_only_its_own_connection(url: str, key: bytes, shops, producer, worker: Worker,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Records, log, credentials and cursors of south stay untouched by north's jobs."""
    north, south = shops
    flows = flows_of(url, key)
    app = App(url, plugins=Plugins(), secret_key=key)
    south_id = app.store.connection("south").id
    north_id = app.store.connection("north").id
    app.close()
    tables = [t for (t,) in sql(url, "SELECT table_name FROM information_schema.columns WHERE column_name = "
                                     "'connection_id' AND table_schema = 'public'")]
    assert {"sync_log", "credential"} <= set(tables) or tables

    def south_rows() -> dict:
        return {t: sql(url, f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
                            f"FROM {t} t WHERE connection_id = %s", south_id)[0] for t in tables}

    before = south_rows()
    south_remote = (south.ul.products(), south.ul.sales_orders(), south.ls.products())
    north_before = len(north.ul.products())
    seen: list[int] = []
    from tillbridge.storage.store import Store

    real = Store.credentials

    def spy(self, connection_id, system):  # type: ignore[no-untyped-def]
        seen.append(connection_id)
        return real(self, connection_id, system)

    monkeypatch.setattr(Store, "credentials", spy)
    defer_all(producer, flows, "north")
    worker.drain()
    assert len(north.ul.products()) > north_before, "north's flows ran"
    assert (south.ul.products(), south.ul.sales_orders(), south.ls.products()) == south_remote
    assert south_rows() == before
    assert seen and set(seen) == {north_id}


def test_stalled_job_runs_again(url: str, key: bytes, shops, producer, worker: Worker) -> None:
    """A job left "doing" by a worker that stopped sending heartbeats is retried by the workers'
    periodic task, and runs."""
    north = shops[0]
    flows = flows_of(url, key)
    defer_all(producer, flows, "north", ("products",))

    async def grab_and_die() -> int:
        app = build_app(url)
        async with app.open_async():
            wid = await app.job_manager.register_worker()
            job = await app.job_manager.fetch_job(None, wid)
            assert job is not None
            return wid

    dead = asyncio.run(grab_and_die())
    sql(url, "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %s", dead)
    assert [r["status"] for r in jobs(url)] == ["doing"]
    products = len(north.ul.products())
    # The worker's periodic retry_stalled_jobs (Procrastinate's recipe) puts it back; it then runs.
    worker.drain()
    assert len(north.ul.products()) > products
    assert worker.stalled_retried == 1


def test_stalled_job_whose_flow_waits_again_is_closed(url: str, key: bytes, producer, worker: Worker) -> None:
    flows = flows_of(url, key)
    defer_all(producer, flows, "north", ("products",))

    async def grab_and_die() -> int:
        app = build_app(url)
        async with app.open_async():
            wid = await app.job_manager.register_worker()
            await app.job_manager.fetch_job(None, wid)
            return wid

    dead = asyncio.run(grab_and_die())
    assert defer_all(producer, flows, "north", ("products",)) == [True]  # the next due run waits behind it
    sql(url, "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' WHERE id = %s", dead)

    async def retry() -> int:
        app = build_app(url)
        async with app.open_async():
            return await worker.retry_stalled(app)

    assert asyncio.run(retry()) == 1
    assert sorted(r["status"] for r in jobs(url)) == ["failed", "todo"]


def test_one_producer_is_active_and_a_standby_takes_over(url: str) -> None:
    from tillbridge.distributed.producer import Elector

    first, second = Elector(url), Elector(url)
    try:
        assert first.try_acquire() and first.holding()
        assert not second.try_acquire() and not second.holding()
        first.release()  # its session ends, as when the active process dies
        # the server releases the lock as the session's backend exits, a moment after the close;
        # a standby tries again every second
        eventually(second.try_acquire, 10, 0.05, what="the standby gets the lock")
        assert second.holding()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def test_a_standby_queues_webhook_runs_debounced_and_once(url: str, key: bytes) -> None:
    from tillbridge.daemon.options import DaemonOptions
    from tillbridge.distributed.producer import Producer

    producer = Producer(url, DaemonOptions(listen_port=0, debounce=30), secret_key=key)
    try:
        producer.reconciler.run()
        assert producer.role == "standby" and "north" in producer.reconciler.views()
        assert producer.jobs.states() == []  # a standby schedules nothing
        assert producer.jobs.trigger("north", "sales") and producer.jobs.trigger("north", "sales")
        waiting = sql(url, "SELECT args->>'flow', scheduled_at > now() + interval '20 seconds' "
                           "FROM procrastinate_jobs WHERE status = 'todo'")
        assert waiting == [("sales", True)]  # once, and after the debounce
        assert (producer.jobs.deferred, producer.jobs.collapsed) == (1, 1)
    finally:
        producer.queue.close()
        producer.app.close()
