"""``tillbridge worker``: runs the queued flow jobs with the daemon's runner, store and plugins.

Each job borrows the connection's runtime from a :class:`~tillbridge.daemon.runtimes.RuntimePool`
and runs the flow through :class:`~tillbridge.daemon.jobs.FlowJobs` (the daemon's own job code:
held-record retries, backoff, the connection log, metrics), with the worker's ``stop`` event:
SIGTERM lets the page in flight finish and commit, then the worker leaves; a run cut short that
way is queued again so another worker carries on at once. A second signal exits at once.

SIGKILL (or a lost machine) leaves the job "doing" with a worker that stopped sending
heartbeats; every worker runs Procrastinate's periodic ``retry_stalled_jobs`` (every 5 s), which
puts it back in the queue once the heartbeat is ``stalled_after`` seconds old. The run then
redoes at most the page that was not committed, under the same target ids (nothing doubled).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Unpack

import procrastinate
from procrastinate.app import WorkerOptions as ProcrastinateOptions
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status

from ..app import App
from ..daemon.backoff import FlowState, job_id
from ..daemon.freshness import FreshnessPlugins
from ..daemon.jobs import FlowJobs
from ..daemon.metrics import Metrics
from ..daemon.options import DaemonOptions
from ..daemon.runtimes import RuntimePool
from .http import Listener
from .limits import SharedLimits
from .ops import QueueCollector, queue_report
from .queue import QUEUES, build_app, defer_flow

log = logging.getLogger("tillbridge.distributed.worker")

#: Seconds ahead a worker may queue a run again (a rerun asked for during a run, a turn).
SOON = 5.0


@dataclass(frozen=True)
class WorkerOptions:
    """
    :param concurrency: jobs run at once by this worker (threads; the work is I/O-bound).
    :param queues: queues served (default: all).
    :param heartbeat: seconds between this worker's heartbeats.
    :param stalled_after: a job whose worker's heartbeat is older than this is retried.
    :param shutdown_timeout: how long SIGTERM waits for runs to finish their page.
    """

    concurrency: int = 4
    queues: tuple[str, ...] = ()
    heartbeat: float = 5.0
    stalled_after: float = 30.0
    shutdown_timeout: float = 8.0
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    daemon: DaemonOptions = field(default_factory=DaemonOptions)


class _Requeue:
    """The scheduler as :class:`FlowJobs` sees it, in a worker: "run this job at" = defer it then."""

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker

    def run_at(self, jid: str, when: datetime) -> bool:
        """Only soon: a job waiting in the queue for a later time holds its lock's place in line,
        which would keep the connection's other flows of the same roles waiting. A pause longer
        than ``SOON`` is left to the producer's next due run (the flow's interval)."""
        if (when - datetime.now(timezone.utc)).total_seconds() > SOON:
            return False
        connection, _, flow = jid.partition(":")
        return self.worker.defer(connection, flow, reason="retry", at=when)

    def next_run(self, jid: str) -> datetime | None:
        return None


class WorkerJobs(FlowJobs):
    """The daemon's job code, fed by the queue: a state per (connection, flow) this worker ran."""

    def __init__(self, worker: "Worker") -> None:
        # _Requeue stands in for the Scheduler: FlowJobs calls only run_at and next_run in a worker.
        super().__init__(worker.app, _Requeue(worker), worker.pool, worker.options.daemon,  # type: ignore[arg-type]
                         worker.stop)
        self.worker = worker

    def ensure(self, connection: str, flow: str, interval: float) -> FlowState:
        with self._lock:
            state = self._states.get(job_id(connection, flow))
            if state is None:
                state = self._states[job_id(connection, flow)] = FlowState(connection, flow, interval)
                state.runs = 1  # the dependency order of a first pass is the producer's (see producer.py)
            state.interval = interval
            return state

    def trigger(self, connection: str, flow: str, reason: str = "webhook", delay: float | None = None) -> bool:
        wait = self.options.debounce if delay is None else delay
        return self.worker.defer(connection, flow, reason=reason, at=_at(time.time() + wait))


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


class Worker:
    def __init__(self, database: str, options: WorkerOptions | None = None, *, secret_key: bytes | None = None) -> None:
        self.database = database
        self.options = options or WorkerOptions()
        self.stop = threading.Event()
        self.started_at = time.time()
        self.app = App(database, plugins=FreshnessPlugins(), secret_key=secret_key)
        self.limits = SharedLimits(database)
        self.app.shared_limiter = self.limits  # vendor limits across tenants: counted in PostgreSQL
        self.pool = RuntimePool(self.app)
        self.jobs = WorkerJobs(self)
        self.metrics = Metrics(self.jobs.states)
        self.metrics.registry.register(QueueCollector(database))
        self.app.plugins.register(self.metrics, name="tillbridge.daemon.metrics", source="core")
        self.queue = build_app(database, pool={"max_size": max(4, self.options.concurrency + 2)})
        self.running: dict[int | None, tuple[str, str, float]] = {}
        self.done = 0
        self.stalled_retried = 0
        self._lock = threading.Lock()
        self.listener = Listener(self._healthz, self.metrics.render, self.options.listen_host, self.options.listen_port)

    # --- what the tasks call ---------------------------------------------------------------------
    def run_job(self, connection: str, flow: str, reason: str, interval: float, *, job_id: int | None) -> None:
        with self._lock:
            self.running[job_id] = (connection, flow, time.time())
        try:
            if self.stop.is_set():  # fetched while stopping: leave it to another worker
                self.defer(connection, flow, reason=reason)
                return
            state = self.jobs.ensure(connection, flow, interval)
            with state.lock:
                state.reason = reason
            self.jobs.execute(connection, flow)
            if self.stop.is_set():  # stopped between pages: the rest is another worker's
                self.defer(connection, flow, reason=reason)
        finally:
            with self._lock:
                self.running.pop(job_id, None)
                self.done += 1

    def defer(self, connection: str, flow: str, *, reason: str, at: datetime | None = None) -> bool:
        spec = self.app.flows().get(flow)
        state = self.jobs.state(connection, flow)
        if spec is None:
            return False
        try:
            return defer_flow(self.queue, connection, spec, reason=reason, at=at,
                              interval=state.interval if state is not None else 60.0)
        except Exception:
            log.exception("could not queue %s %s again; its next scheduled run picks it up", connection, flow,
                          extra={"connection": connection, "flow": flow})
            return False

    def _worker_options(self, **more: Unpack[ProcrastinateOptions]) -> ProcrastinateOptions:
        """Procrastinate's worker options, ``more`` on top; ``queues`` is left out (every queue)
        unless some are named."""
        options: ProcrastinateOptions = {
            "concurrency": self.options.concurrency, "name": self.options.name, "install_signal_handlers": False,
            "update_heartbeat_interval": self.options.heartbeat, "stalled_worker_timeout": self.options.stalled_after,
            "additional_context": {"tillbridge": self}, "delete_jobs": "successful", **more}
        if self.options.queues:
            options["queues"] = list(self.options.queues)
        return options

    async def retry_stalled(self, app: procrastinate.App) -> int:
        """Procrastinate's stalled-job recipe; a stalled run whose flow already waits in the queue
        again is closed as failed instead (the waiting job does its work)."""
        retried = 0
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=self.options.stalled_after):
            what = f"{job.task_kwargs.get('connection', '')} {job.task_kwargs.get('flow', job.task_name)}".strip()
            try:
                await app.job_manager.retry_job(job)
                log.warning("job %s (%s) was left behind by a worker that stopped; queued again", job.id, what,
                            extra={"connection": job.task_kwargs.get("connection")})
            except ConnectorException:
                await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
                log.warning("job %s (%s) was left behind by a worker that stopped; a newer run already waits",
                            job.id, what, extra={"connection": job.task_kwargs.get("connection")})
            retried += 1
        with self._lock:
            self.stalled_retried += retried
        return retried

    # --- HTTP ------------------------------------------------------------------------------------
    def _healthz(self) -> tuple[dict[str, Any], int]:
        now = time.time()
        with self._lock:
            running = [{"job": jid, "connection": c, "flow": f, "seconds": round(now - t, 1)}
                       for jid, (c, f, t) in self.running.items()]
            done, stalled = self.done, self.stalled_retried
        body: dict[str, Any] = {"role": "worker", "name": self.options.name, "status": "stopping" if self.stop.is_set()
                                else "ok", "concurrency": self.options.concurrency,
                                "queues": list(self.options.queues or QUEUES), "running": running, "jobs_done": done,
                                "stalled_retried": stalled, "uptime": round(now - self.started_at, 1)}
        try:
            body["queue"] = queue_report(self.database)
        except Exception as exc:  # the database is down: say so, and let the supervisor decide
            body["queue"] = {"error": str(exc).splitlines()[0]}
            return body, 503
        return body, 503 if self.stop.is_set() else 200

    # --- lifecycle -------------------------------------------------------------------------------
    async def _serve(self) -> int:
        loop = asyncio.get_running_loop()
        signalled = asyncio.Event()
        signals = 0

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            if signals > 1:
                os.write(2, b"tillbridge: second signal, exiting at once\n")
                os._exit(1)
            self.stop.set()  # runs finish the page in flight
            signalled.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        self._threads(loop)
        async with self.queue.open_async():
            # A worker that starts (often: restarted after the one that died) puts stalled jobs back
            # at once rather than at the periodic task's next turn.
            await self.retry_stalled(self.queue)
            task = asyncio.create_task(self.queue.run_worker_async(
                **self._worker_options(shutdown_graceful_timeout=self.options.shutdown_timeout)))
            log.info("tillbridge worker %s started: concurrency %d, queues %s, listening on %s", self.options.name,
                     self.options.concurrency, ", ".join(self.options.queues or QUEUES), self.listener.url)
            stopper = asyncio.create_task(signalled.wait())
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                log.info("stopping: finishing the pages in flight (at most %.0fs)", self.options.shutdown_timeout)
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            stopper.cancel()
        with self._lock:
            clean = not self.running
        return 0 if clean else 1

    def _threads(self, loop: asyncio.AbstractEventLoop) -> None:
        """Sync tasks run on the loop's default executor (asgiref): size it to the concurrency
        (its default, cores + 4, would cap a worker told to run more jobs at once)."""
        loop.set_default_executor(ThreadPoolExecutor(self.options.concurrency + 2, thread_name_prefix="tillbridge-job"))

    def drain(self) -> int:
        """Run every job due now (and those they queue), then return how many ran (tests, bench)."""
        before = self.done

        async def run() -> None:
            self._threads(asyncio.get_running_loop())
            async with self.queue.open_async():
                # As a starting worker does; without it, a pass told not to wait can leave before
                # the periodic task has deferred its first turn, and a stalled job stays "doing".
                await self.retry_stalled(self.queue)
                await self.queue.run_worker_async(**self._worker_options(wait=False, listen_notify=False))

        # A worker told not to wait leaves as soon as nothing is fetchable, which includes jobs
        # held back by a lock that a job of this very pass holds: go round until nothing is due.
        while True:
            asyncio.run(run())
            report = queue_report(self.database)
            due = sum(q["due"] for name, q in report["queues"].items() if not self.options.queues
                      or name in self.options.queues)
            if not due:
                return self.done - before

    def close(self) -> None:
        self.pool.close()
        self.app.close()
        self.limits.close()

    def serve_forever(self) -> int:
        self.listener.start()
        try:
            code = asyncio.run(self._serve())
        finally:
            self.listener.stop()
            self.close()
        log.info("tillbridge worker %s stopped", self.options.name)
        return code


def run_worker(database: str, options: WorkerOptions) -> int:
    if not log.isEnabledFor(logging.DEBUG):  # Procrastinate says "starting/ended" of every job at info
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    code = Worker(database, options).serve_forever()
    logging.shutdown()
    if code != 0:
        os._exit(code)  # runs abandoned at shutdown hold threads the interpreter would wait for
    return code


__all__ = ["Worker", "WorkerOptions", "run_worker"]
