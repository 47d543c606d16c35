"""``tillbridge run``: the daemon's process lifecycle.

Start: open (and migrate) the database, reconcile once so every job exists, start the scheduler
and the HTTP listener (webhooks, ``/healthz``, ``/metrics``). Run until SIGTERM or SIGINT.

Stop (first signal): no new runs start, running flows finish the page in flight (the runner
checks ``stop`` between pages) and commit, and the process exits 0 within ``shutdown_timeout``
(under the 10 s systemd and most supervisors allow); a run still busy then (a slow remote) is
abandoned and the process exits 1, which is safe for the same reason SIGKILL is. A second signal
exits at once. SIGKILL is safe by design: a page's bindings, log lines and cursor commit in one
transaction, and a page redone after a crash writes under the same target ids, so nothing is
lost or duplicated.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..app import App
from ..errors import ConfigError
from ..plugins import Plugins
from .freshness import FreshnessPlugins
from .health import health_report
from .jobs import FlowJobs
from .metrics import CONTENT_TYPE, Metrics
from .options import DaemonOptions
from .reconcile import Reconciler
from .retention import prune
from .runtimes import RuntimePool
from .scheduler import Scheduler, utcnow
from .webhooks import WebhookReceiver, webhook_routes

log = logging.getLogger("tillbridge.daemon")

RECONCILE_JOB = "_daemon:reconcile"
RETENTION_JOB = "_daemon:retention"
#: The first retention pass runs this long after start (not in the busy first seconds).
RETENTION_FIRST_DELAY = 30.0


class Daemon:
    """Everything ``tillbridge run`` runs, usable in-process (tests) or as the process itself.

    :param plugins: a plugin manager to use (default: one loading the installed plugins, which
        also notes source times for freshness; pass a :class:`FreshnessPlugins` to keep that).
    """

    #: What runs a due flow job (distributed mode queues it instead: ``tillbridge.distributed``).
    jobs_class: type[FlowJobs] = FlowJobs
    reconciler_class: type[Reconciler] = Reconciler

    def __init__(self, database: str | None, options: DaemonOptions | None = None, *,
                 plugins: Plugins | None = None, secret_key: bytes | None = None) -> None:
        self.options = options or DaemonOptions()
        self.stop_event = threading.Event()
        self.stopping = False
        self.started_at = time.time()
        self.app = App(database, plugins=plugins if plugins is not None else FreshnessPlugins(), secret_key=secret_key)
        self.scheduler = Scheduler()
        self.pool = RuntimePool(self.app)
        self.jobs = self.jobs_class(self.app, self.scheduler, self.pool, self.options, self.stop_event)
        self.metrics = Metrics(self.jobs.states)
        self.app.plugins.register(self.metrics, name="tillbridge.daemon.metrics", source="core")
        self.scheduler.on_skipped(self._skipped)
        self.reconciler = self.reconciler_class(self.app, self.scheduler, self.jobs, self.pool, self.options)
        self.handlers = self.app.plugins.webhook_handlers()
        self.receiver = WebhookReceiver(self.app, self.handlers, self.reconciler, self.jobs, self.options,
                                        self.metrics)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._signalled = threading.Event()
        self._signals = 0
        self._port = self.options.listen_port

    # --- HTTP --------------------------------------------------------------------------------------
    def asgi(self) -> Starlette:
        async def healthz(request: Request) -> Response:
            body, status = health_report(self.jobs.states(), self.reconciler.views(), started_at=self.started_at,
                                         scheduler_running=self.scheduler.running, stopping=self.stopping,
                                         next_run=self.scheduler.next_run)
            return JSONResponse(body, status)

        async def metrics(request: Request) -> Response:
            return Response(self.metrics.render(), media_type=CONTENT_TYPE)

        async def index(request: Request) -> Response:
            return JSONResponse({"service": "tillbridge", "healthz": "/healthz", "metrics": "/metrics",
                                 "webhooks": "/webhooks/{system}/{connection}" if self.options.webhooks else None,
                                 "systems": sorted(self.handlers) if self.options.webhooks else []})

        routes: list[Any] = [Route("/", index), Route("/healthz", healthz), Route("/metrics", metrics)]
        if self.options.webhooks:
            routes += webhook_routes(self.receiver)
        return Starlette(routes=routes)

    @property
    def url(self) -> str:
        """The listener's base URL (the real port when ``listen_port`` was 0)."""
        host = self.options.listen_host
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{self._port}"

    def _start_http(self, timeout: float = 10.0) -> None:
        # log_config=None: keep the daemon's logging (uvicorn would install its own); no access log.
        config = uvicorn.Config(self.asgi(), host=self.options.listen_host, port=self.options.listen_port,
                                log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="tillbridge-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"cannot listen on {self.options.listen_host}:{self.options.listen_port}",
                                  fix="is another daemon running? choose another address with --listen HOST:PORT")
            time.sleep(0.01)
        if self._server.servers:
            self._port = self._server.servers[0].sockets[0].getsockname()[1]

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.reconciler.reconcile()  # jobs exist (and /healthz has content) before anything runs
        self.scheduler.every(RECONCILE_JOB, self.reconciler.run, self.options.reconcile_seconds,
                             misfire_grace_time=self.options.reconcile_seconds)
        self.scheduler.every(RETENTION_JOB, self._retention, self.options.retention_seconds,
                             misfire_grace_time=self.options.retention_seconds,
                             first_run=utcnow() + timedelta(seconds=RETENTION_FIRST_DELAY))
        self.scheduler.start()
        self._start_http()
        jobs = len(self.jobs.states())
        for name in sorted(set(self.options.connections) - set(self.reconciler.views())):
            log.warning("connection %s does not exist (yet): its jobs start when it is added", name,
                        extra={"connection": name})
        log.info("tillbridge daemon started: %d connection(s), %d flow job(s), listening on %s (webhooks %s)",
                 len(self.reconciler.views()), jobs, self.url, "on" if self.options.webhooks else "off")

    def stop(self, timeout: float | None = None) -> bool:
        """Stop; ``True`` when every run finished its page in time (and everything was closed)."""
        self.stopping = True
        self.stop_event.set()
        self.scheduler.shutdown()
        limit = self.options.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while any(s.running_since is not None for s in self.jobs.states()):
            if time.monotonic() > deadline:
                busy = [s.job_id for s in self.jobs.states() if s.running_since is not None]
                log.warning("runs still busy after %.0fs, leaving them (safe: their page was not committed): %s",
                            limit, ", ".join(busy))
                self._stop_http()
                return False
            time.sleep(0.05)
        self._stop_http()
        self.pool.close()
        self.app.close()
        log.info("tillbridge daemon stopped")
        return True

    def _stop_http(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=2)

    def serve_forever(self) -> int:
        """Run until SIGTERM/SIGINT (main thread only); the process exit code."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.start()
        while not self._signalled.wait(0.5):
            pass
        log.info("stopping: finishing the pages in flight (at most %.0fs)", self.options.shutdown_timeout)
        return 0 if self.stop() else 1

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            # A second signal: leave now. Safe by design (see the module docstring).
            os.write(2, b"tillbridge: second signal, exiting at once\n")
            os._exit(1)
        self._signalled.set()

    # --- maintenance jobs --------------------------------------------------------------------------
    def _retention(self) -> None:
        try:
            prune(self.app, webhook_receipt_days=self.options.webhook_receipt_days,
                  connections=self.options.connections)
        except Exception:
            log.exception("log retention failed; retrying next time")

    def _skipped(self, job_id: str) -> None:
        self.jobs.skipped(job_id)
        state = next((s for s in self.jobs.states() if s.job_id == job_id), None)
        if state is not None:
            self.metrics.run_skipped(state.connection, state.flow)


def run_daemon(database: str | None, options: DaemonOptions) -> int:
    """The process: serve until signalled, then exit with the daemon's code (never hangs on a
    run abandoned at shutdown)."""
    daemon = Daemon(database, options)
    try:
        code = daemon.serve_forever()
    except BaseException:
        daemon.stop(timeout=1)
        raise
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    if code != 0:
        os._exit(code)  # abandoned runs hold non-daemon threads the interpreter would wait for
    return code


__all__ = ["Daemon", "run_daemon"]
