"""``tillbridge run --distributed``: the daemon's scheduler, queueing the due flows instead of running them.

The scheduling is the daemon's, unchanged: the reconciler turns our tables into one interval job
per (connection, enabled flow), webhooks bring a flow forward (debounced), the first pass after
a start follows the dependency order (products before sales before stock: the first runs are
deferred a quarter of a second apart, and the lock of a pair of roles runs its jobs in the order
they were queued). Where the daemon would run the flow, :class:`DeferringJobs` defers one
Procrastinate job (see :mod:`.queue` for the locks).

High availability: any number of producers may run. Each holds a PostgreSQL connection and tries
``pg_try_advisory_lock`` on it every ``standby_poll`` seconds; the one that holds it is active
(its scheduler runs), the others are standbys. The lock is the session's: when the active
process dies (SIGKILL, lost machine), PostgreSQL ends its session and releases the lock, and a
standby takes over at its next try. Standbys still serve webhooks (any listener queues the
flows they concern) and ``/healthz``. Two producers active at once (a network partition the
server has not noticed yet) are harmless: the queueing lock collapses their jobs.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

import procrastinate
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..daemon.health import health_report
from ..daemon.jobs import FlowJobs
from ..daemon.options import DaemonOptions
from ..daemon.reconcile import Reconciler, interval_for
from ..daemon.service import Daemon
from .ops import QueueCollector, queue_report
from .queue import build_app, conninfo, defer_flow

log = logging.getLogger("tillbridge.distributed.producer")

#: A standby re-reads the connections (for the webhooks it receives) at most this often.
STANDBY_RECONCILE = 30.0
#: The advisory lock (bigint) held by the active producer of a database.
PRODUCER_LOCK = 0x7469_6C6C_0002


class DeferringJobs(FlowJobs):
    """A due flow job queues one run; the queue's workers run it."""

    queue: procrastinate.App | None = None
    deferred = 0
    collapsed = 0

    def execute(self, connection: str, flow_name: str) -> None:
        state = self.state(connection, flow_name)
        if state is None or self.stop.is_set():
            return
        with state.lock:
            reason, state.reason = state.reason or "schedule", None
            state.runs += 1
            state.last_run = time.time()
        self._defer(connection, flow_name, reason, state.interval, None)

    def trigger(self, connection: str, flow: str, reason: str = "webhook", delay: float | None = None) -> bool:
        """Queue a run ``debounce`` seconds from now (later triggers ride along on it). A standby
        holds no jobs: the webhook listener only asks for enabled flows, at their default interval."""
        state = self.state(connection, flow)
        spec = self.app.flows().get(flow)
        if spec is None:
            return False
        interval = state.interval if state is not None else interval_for(spec, {})
        wait = self.options.debounce if delay is None else delay
        at = datetime.fromtimestamp(time.time() + wait, tz=timezone.utc)
        self._defer(connection, flow, reason, interval, at)
        return True  # queued now, or riding along with the run already waiting

    def _defer(self, connection: str, flow_name: str, reason: str, interval: float, at: datetime | None) -> None:
        flow = self.app.flows().get(flow_name)
        if flow is None or self.queue is None:
            return
        try:
            if defer_flow(self.queue, connection, flow, reason=reason, interval=interval, at=at):
                self.deferred += 1
            else:
                self.collapsed += 1
        except Exception:
            log.exception("could not queue %s %s; the next due run tries again", connection, flow_name,
                          extra={"connection": connection, "flow": flow_name})


class ViewsReconciler(Reconciler):
    """While ``standby``, a pass only refreshes the connections the webhook listener knows: the
    jobs (and the queries that build them) are the active producer's."""

    standby = True

    def _apply(self, wanted: dict[str, tuple[str, str, float]], ids: dict[str, int], flow_count: int) -> None:
        if not self.standby:
            super()._apply(wanted, ids, flow_count)


class Elector:
    """The active producer holds a session advisory lock on a connection of its own."""

    def __init__(self, database_url: str) -> None:
        self.info = conninfo(database_url)
        self.conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.info, autocommit=True, connect_timeout=5, keepalives=1,
                                            keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                                            application_name="tillbridge producer")
            row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (PRODUCER_LOCK,)).fetchone()
            return bool(row and row[0])
        except psycopg.Error as exc:
            log.warning("cannot reach the database to elect the active producer: %s", str(exc).splitlines()[0])
            self.release()
            return False

    def holding(self) -> bool:
        """Still ours? (the session is alive and holds the lock)"""
        if self.conn is None or self.conn.closed:
            return False
        try:
            row = self.conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                    "AND pid = pg_backend_pid() AND objid = %s",
                                    (PRODUCER_LOCK & 0xFFFFFFFF,)).fetchone()
            return bool(row and row[0])
        except psycopg.Error:
            return False

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:
                pass
            self.conn = None


class Producer(Daemon):
    jobs_class = DeferringJobs
    reconciler_class = ViewsReconciler

    def __init__(self, database: str, options: DaemonOptions | None = None, *, secret_key: bytes | None = None,
                 standby_poll: float = 1.0) -> None:
        conninfo(database)  # PostgreSQL, or a clear message
        super().__init__(database, options, secret_key=secret_key)
        self.database = database
        self.standby_poll = standby_poll
        self.queue = build_app(database, sync=True)
        self.queue.open()
        assert isinstance(self.jobs, DeferringJobs)
        self.jobs.queue = self.queue
        self.elector = Elector(database)
        self.role = "standby"
        self.became_active: float | None = None
        self.metrics.registry.register(QueueCollector(database))

    # --- HTTP: /healthz says the role ------------------------------------------------------------
    def asgi(self) -> Starlette:
        app = super().asgi()

        async def healthz(request: Request) -> Response:
            body: dict[str, Any]
            if self.role == "active":
                body, status = health_report(self.jobs.states(), self.reconciler.views(), started_at=self.started_at,
                                             scheduler_running=self.scheduler.running, stopping=self.stopping,
                                             next_run=self.scheduler.next_run)
            else:
                body, status = {"status": "stopping" if self.stopping else "standby",
                                "connections": sorted(self.reconciler.views())}, 503 if self.stopping else 200
            assert isinstance(self.jobs, DeferringJobs)
            body.update(role=self.role, pid=os.getpid(), active_since=self.became_active,
                        deferred=self.jobs.deferred, collapsed=self.jobs.collapsed)
            try:
                body["queue"] = queue_report(self.database)
            except Exception as exc:
                body["queue"] = {"error": str(exc).splitlines()[0]}
            return JSONResponse(body, status)

        app.router.routes.insert(0, Route("/healthz", healthz))
        return app

    def _start_http(self, timeout: float = 10.0) -> None:
        if self._server is None:
            super()._start_http(timeout)

    # --- lifecycle -------------------------------------------------------------------------------
    def serve_forever(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self._start_http()
        log.info("tillbridge producer %d standing by, listening on %s", os.getpid(), self.url)
        standing_by = threading.Event()
        views = threading.Thread(target=self._standby_views, args=(standing_by,), name="tillbridge-standby",
                                 daemon=True)
        views.start()
        while not self._signalled.is_set():
            if self.elector.try_acquire():
                break
            self._signalled.wait(self.standby_poll)
        standing_by.set()
        if self._signalled.is_set():
            views.join()
            self.stopping = True
            self._stop_http()
            self.queue.close()
            self.app.close()
            return 0
        self.role, self.became_active = "active", time.time()
        log.info("tillbridge producer %d is now the active one", os.getpid())
        views.join()  # a pass in progress ends (it only refreshes the views)
        assert isinstance(self.reconciler, ViewsReconciler)
        self.reconciler.standby = False
        self.start()
        while not self._signalled.wait(self.standby_poll):
            if not self.elector.holding():
                # Another producer may be active by now: leave (the supervisor restarts us as a standby).
                log.error("lost the database session that made this producer the active one; exiting")
                self.stop(timeout=1)
                os._exit(3)
        log.info("stopping the active producer")
        code = 0 if self.stop() else 1
        self.elector.release()  # a standby takes over at its next try
        self.queue.close()
        return code

    def _standby_views(self, done: threading.Event) -> None:
        """While standing by, keep the connections the webhook listener knows up to date (its own
        thread: a slow pass never delays a takeover)."""
        while not done.is_set():
            self.reconciler.run()
            done.wait(max(self.options.reconcile_seconds, STANDBY_RECONCILE))


def run_producer(database: str | None, options: DaemonOptions) -> int:
    from ..storage.db import database_url

    producer = Producer(database_url(database), options)
    try:
        code = producer.serve_forever()
    except BaseException:
        producer.stop(timeout=1)
        raise
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if code != 0:
        os._exit(code)
    return code


__all__ = ["DeferringJobs", "Elector", "Producer", "run_producer"]
