"""The queue: Procrastinate apps over tillbridge's own PostgreSQL database, and the flow job.

One job per (connection, flow) run: task ``tillbridge.run_flow`` with the connection's *name*
and the flow's name only (a job carries no data, no credential: the worker reads everything
from the store for that connection, so a job can never touch another connection).

* ``queueing_lock = "{connection}:{flow}"``: a flow waits in the queue at most once. A due
  interval, a webhook and a second producer deferring the same flow all collapse into the one
  job already waiting (``AlreadyEnqueued`` is the normal, quiet outcome).
* ``lock = "{connection}:{role}|{role}"``: the flows that move data between the same two roles,
  in either direction, run one at a time across every worker (the turn-taking of the daemon's
  ``Turns``, enforced by the database: the stock export reads what the sales import writes).
  It also bounds how many jobs of one connection run at once (one per pair of roles), so a
  busy retailer cannot occupy every worker.
* queue ``accounting`` for flows that touch the accounting role, ``sync`` for the others
  (``tillbridge worker --queues`` picks).

Procrastinate fetches the oldest due job first, and each flow has at most one job waiting, so
the queue serves connections in turn: nobody is starved.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url

from ..errors import ConfigError
from ..flows import Flow

log = logging.getLogger("tillbridge.distributed")

RUN_FLOW = "tillbridge.run_flow"
RETRY_STALLED = "tillbridge.retry_stalled_jobs"
QUEUES = ("sync", "accounting")
#: How often a worker looks for jobs left behind by a worker that died (cron, seconds field).
STALLED_CRON = "* * * * * */5"


def conninfo(database_url: str) -> str:
    """A libpq connection string from tillbridge's SQLAlchemy URL (PostgreSQL only)."""
    if "://" not in (database_url or ""):
        raise ConfigError("distributed mode needs a PostgreSQL database",
                          fix="pass --database-url postgresql+psycopg://user@host:5432/db "
                              "(or set TILLBRIDGE_DATABASE_URL)")
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        raise ConfigError(f"distributed mode needs PostgreSQL, not {url.get_backend_name()}",
                          fix="the queue lives in PostgreSQL: point --database-url at a PostgreSQL database "
                              "(one retailer on SQLite runs `tillbridge run` without --distributed)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def lock_for(connection: str, flow: Flow) -> str:
    """The lock shared by the flows moving data between the same two roles of a connection."""
    a, b = sorted((flow.source_role, flow.target_role))
    return f"{connection}:{a}|{b}"


def queue_for(flow: Flow) -> str:
    return "accounting" if "accounting" in (flow.source_role, flow.target_role) else "sync"


def queueing_lock(connection: str, flow: str) -> str:
    return f"{connection}:{flow}"


def build_app(database_url: str, *, sync: bool = False, pool: dict[str, Any] | None = None) -> procrastinate.App:
    """A Procrastinate app on the database (not opened), with tillbridge's tasks registered.

    ``sync``: a synchronous connector (producers, CLI); workers use the asynchronous one.
    The tasks find the worker's runtime in the job context (``additional_context``).
    """
    info = conninfo(database_url)
    kwargs: dict[str, Any] = {"conninfo": info, "min_size": 1, "max_size": 4, **(pool or {})}
    connector: Any = (procrastinate.SyncPsycopgConnector(**kwargs) if sync
                      else procrastinate.PsycopgConnector(**kwargs))
    app = procrastinate.App(connector=connector)

    @app.task(name=RUN_FLOW, pass_context=True)
    def run_flow(context: procrastinate.JobContext, connection: str, flow: str, reason: str = "schedule",
                 interval: float = 60.0) -> None:
        worker = context.additional_context["tillbridge"]
        worker.run_job(connection, flow, reason, interval, job_id=context.job.id if context.job else None)

    # Procrastinate's recipe for jobs of a worker that died (SIGKILL, lost machine): a periodic
    # task retries every job still "doing" whose worker stopped sending heartbeats.
    # https://procrastinate.readthedocs.io/en/stable/howto/production/retry_stalled_jobs.html
    @app.periodic(cron=STALLED_CRON, periodic_id="stalled")
    @app.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED, pass_context=True, queue="sync")
    async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
        worker = context.additional_context["tillbridge"]
        await worker.retry_stalled(context.app)

    return app


def defer_flow(app: procrastinate.App, connection: str, flow: Flow, *, reason: str, interval: float,
               at: datetime | None = None) -> bool:
    """Queue one run of ``flow`` for ``connection``; ``False`` when one already waits (it serves)."""
    options: dict[str, Any] = {"lock": lock_for(connection, flow), "queueing_lock": queueing_lock(connection, flow.name),
                               "queue": queue_for(flow)}
    if at is not None:
        options["schedule_at"] = at
    try:
        app.configure_task(RUN_FLOW, **options).defer(connection=connection, flow=flow.name, reason=reason,
                                                      interval=float(interval))
    except AlreadyEnqueued:
        return False
    log.debug("%s %s deferred (%s)", connection, flow.name, reason, extra={"connection": connection, "flow": flow.name})
    return True


__all__ = ["QUEUES", "RETRY_STALLED", "RUN_FLOW", "build_app", "conninfo", "defer_flow", "lock_for", "queue_for",
           "queueing_lock"]
