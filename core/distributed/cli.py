"""``tillbridge worker``, ``tillbridge workers``, ``tillbridge queue`` and ``tillbridge db upgrade``."""

from __future__ import annotations

import click
from rich.table import Table

from ..cli.base import CliState, TillbridgeGroup, console, pass_state
from ..cli.commands_daemon import process_options
from ..daemon.options import DaemonOptions
from .queue import QUEUES


@click.command("worker")
@click.option("--concurrency", "-n", type=click.IntRange(1, 256), default=4, show_default=True,
              help="Jobs this worker runs at once.")
@click.option("--queues", "-q", default="", metavar="NAMES",
              help=f"Comma-separated queues to serve (default: all: {', '.join(QUEUES)}).")
@click.option("--listen", default="127.0.0.1:8481", show_default=True, envvar="TILLBRIDGE_WORKER_LISTEN",
              metavar="HOST:PORT", help="Where to serve /healthz and /metrics (port 0: any free port).")
@click.option("--heartbeat", type=click.FloatRange(0.1), default=5.0, show_default=True, metavar="SECONDS",
              help="How often this worker tells the database it is alive.")
@click.option("--stalled-after", type=click.FloatRange(1), default=30.0, show_default=True, metavar="SECONDS",
              help="A job whose worker has not been heard of for this long runs again elsewhere.")
@process_options
@pass_state
def worker_command(state: CliState, concurrency: int, queues: str, listen: str, heartbeat: float,
                   stalled_after: float, shutdown_timeout: float, held_retry: float, log_format: str,
                   log_level: str) -> None:
    """Run queued flow jobs (distributed mode; start any number, on any machine).

    Stops on SIGTERM after finishing the page in flight. See docs/distributed.md.
    """
    from ..cli.commands_daemon import parse_listen
    from ..daemon.logging_setup import setup_logging
    from ..storage.db import database_url
    from .queue import conninfo
    from .worker import WorkerOptions, run_worker

    url = database_url(state.database_url)
    conninfo(url)
    host, port = parse_listen(listen)
    setup_logging(log_format, log_level)
    chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        raise click.BadParameter(f"unknown queue {', '.join(unknown)} (queues: {', '.join(QUEUES)})",
                                 param_hint="--queues")
    options = WorkerOptions(concurrency=concurrency, queues=chosen, heartbeat=heartbeat, stalled_after=stalled_after,
                            shutdown_timeout=shutdown_timeout, listen_host=host, listen_port=port,
                            daemon=DaemonOptions(held_retry_seconds=held_retry, shutdown_timeout=shutdown_timeout))
    raise SystemExit(run_worker(url, options))


def _url(state: CliState) -> str:
    from ..storage.db import database_url
    from .queue import conninfo

    url = database_url(state.database_url)
    conninfo(url)
    return url


@click.command("workers")
@pass_state
def workers_command(state: CliState) -> None:
    """The workers the database knows, their heartbeat and what each runs now."""
    from .ops import workers_report

    table = Table(title="workers")
    for col in ("worker", "heartbeat", "state", "running"):
        table.add_column(col)
    rows = workers_report(_url(state))
    for w in rows:
        table.add_row(str(w["id"]), f"{w['heartbeat_age']:.0f}s ago", "stalled" if w["stalled"] else "alive",
                      w["jobs"] or "-")
    console.print(table if rows else "no worker is running: start one with `tillbridge worker`")


@click.command("queue")
@pass_state
def queue_command(state: CliState) -> None:
    """What waits and what runs: per queue, and each running job with its age."""
    from .ops import queue_report, running_jobs

    url = _url(state)
    report = queue_report(url)
    table = Table(title="queue")
    for col in ("queue", "due", "scheduled", "running", "failed", "oldest due"):
        table.add_column(col)
    for name, q in sorted(report["queues"].items()):
        table.add_row(name, str(q["due"]), str(q["scheduled"]), str(q["doing"]), str(q["failed"]),
                      f"{q['oldest_due_seconds']:.0f}s")
    console.print(table)
    running = running_jobs(url)
    if running:
        jobs = Table(title="running")
        for col in ("job", "connection", "flow", "worker", "for"):
            jobs.add_column(col)
        for r in running:
            jobs.add_row(str(r["id"]), r["connection"] or "-", r["flow"] or "-", str(r["worker_id"] or "-"),
                         f"{r['seconds']:.0f}s")
        console.print(jobs)
    console.print(f"stalled jobs (their worker stopped): {report['stalled']}")


@click.group("db", cls=TillbridgeGroup)
def db_group() -> None:
    """The database schema."""


@db_group.command("upgrade")
@pass_state
def upgrade_command(state: CliState) -> None:
    """Bring the schema up to date: tillbridge's tables, and on PostgreSQL the queue of distributed mode."""
    from ..storage.db import database_url
    from .schema import upgrade

    state.app  # opening the database runs tillbridge's migrations
    console.print("tillbridge schema: up to date")
    url = database_url(state.database_url)
    if url.startswith(("postgresql", "postgres:")):
        for line in upgrade(url) or ["queue schema: up to date"]:
            console.print(line)


__all__ = ["db_group", "queue_command", "worker_command", "workers_command"]
