"""Operations of distributed mode: `db upgrade`, `queue`, `workers`, and /metrics of a worker."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from daemon_kit import new_key, prepare_database, start_shop

from tillbridge.cli.main import cli
from tillbridge.distributed.queue import build_app, defer_flow
from tillbridge.distributed.worker import Worker, WorkerOptions

pytestmark = pytest.mark.postgres


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--database-url", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_queue_and_workers(postgres_url: str) -> None:
    key = new_key()
    shop = start_shop("east", seed=9, products=4)
    try:
        prepare_database(postgres_url, key, [shop])
        out = run(postgres_url, "db", "upgrade")
        assert "queue schema installed (procrastinate 3." in out
        assert "queue schema: up to date" in run(postgres_url, "db", "upgrade")
        assert "no worker is running" in run(postgres_url, "workers")

        worker = Worker(postgres_url, WorkerOptions(concurrency=1), secret_key=key)
        try:
            producer = build_app(postgres_url, sync=True)
            producer.open()
            flow = worker.app.flows()["products"]
            assert defer_flow(producer, "east", flow, reason="test", interval=60)
            assert defer_flow(producer, "east", worker.app.flows()["stock"], reason="test", interval=60)
            producer.close()
            out = run(postgres_url, "queue")
            assert "sync" in out and "stalled jobs (their worker stopped): 0" in out
            metrics = worker.metrics.render().decode()
            assert 'tillbridge_queue_jobs{queue="sync",state="due"} 2.0' in metrics

            async def register() -> None:  # a worker that is alive, with a job it runs
                app = build_app(postgres_url)
                async with app.open_async():
                    wid = await app.job_manager.register_worker()
                    await app.job_manager.fetch_job(None, wid)

            asyncio.run(register())
            out = run(postgres_url, "workers")
            assert "alive" in out and "east products" in out
            out = run(postgres_url, "queue")
            assert "east" in out and "products" in out  # the running job, with its connection
        finally:
            worker.close()
    finally:
        shop.close()


def test_distributed_mode_needs_postgresql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{tmp_path / 'x.sqlite'}", "queue"])
    assert result.exit_code == 2
    assert "distributed mode needs PostgreSQL" in result.output and "Traceback" not in result.output
