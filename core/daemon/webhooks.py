"""The webhook listener: ``POST /webhooks/{system}/{connection}``.

Per delivery, on a worker thread (never on the event loop): find the connection and the
handler of ``system`` (plugins register them), verify the signature with the connection's
stored key, read the events, record each delivery key in ``webhook_delivery`` (a unique
constraint: the first receipt wins, a redelivery triggers nothing), and trigger the affected,
enabled flows through the scheduler, debounced. The answer goes back at once: the work happens
on the flow's own thread, well within the 5 s the vendors allow (shared/api-notes:
https://x-series-api.lightspeedhq.com/docs/webhooks, https://apidocs.unleashedsoftware.com/Webhooks).

A webhook never carries data into a sync; it makes a flow poll now. Polling still runs as the
source of truth, since neither vendor guarantees delivery.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Mapping

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..app import App
from ..storage.models import WebhookDelivery
from .handlers import WebhookHandler, WebhookRejected, WebhookRequest, WebhookUnverifiable
from .jobs import FlowJobs
from .metrics import Metrics
from .options import DaemonOptions
from .reconcile import Reconciler

log = logging.getLogger("tillbridge.daemon.webhooks")

#: Larger deliveries are refused (413): vendors send one record, or only its id.
MAX_BODY = 1_000_000
#: A refused delivery is written to the connection log at most this often per system.
COMPLAINT_SECONDS = 600.0


def webhook_path(system: str, connection: str) -> str:
    """Where a connection's deliveries from ``system`` go (relative to the listener's base URL)."""
    return f"/webhooks/{system}/{connection}"


class WebhookReceiver:
    def __init__(self, app: App, handlers: Mapping[str, WebhookHandler], reconciler: Reconciler, jobs: FlowJobs,
                 options: DaemonOptions, metrics: Metrics | None = None) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.reconciler = reconciler
        self.jobs = jobs
        self.options = options
        self.metrics = metrics
        self._lock = threading.Lock()
        self._complained: dict[tuple[str, str], float] = {}

    def handle(self, system: str, connection: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, object]]:
        """One delivery → (HTTP status, JSON body)."""
        handler = self.handlers.get(system)
        view = self.reconciler.view(connection)
        if handler is None or view is None or not view.has_system(system):
            self._count(system, connection, "unknown")
            return 404, {"error": f"no {system} webhooks are received for connection {connection!r}"}
        request = WebhookRequest(headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=time.time())
        try:
            credentials = self.app.store.credentials(view.id, system)
            handler.verify(request, credentials, max_age=self.options.webhook_max_age)
        except WebhookUnverifiable as exc:
            if not self.options.allow_unsigned_webhooks:
                self._refuse(view.id, system, connection, "unverifiable", str(exc),
                             "connect with credentials that include the signing key (or run "
                             "`tillbridge webhooks register`), or start the daemon with --allow-unsigned-webhooks")
                return 401, {"error": "cannot verify the signature"}
        except WebhookRejected as exc:
            self._refuse(view.id, system, connection, "rejected", str(exc),
                         "check that the connection's credentials match the app or subscription that sends them "
                         "(`tillbridge webhooks register` stores a new signing key)")
            return 401, {"error": "bad signature"}
        try:
            events = handler.parse(request)
        except WebhookRejected as exc:
            self._count(system, connection, "rejected")
            return 400, {"error": str(exc)}
        fresh = [e for e in events if self._first_receipt(view.id, system, e.delivery_key)]
        wanted: list[str] = []
        for event in fresh:
            for flow in handler.flows_for(event.event_type):
                if flow in view.flows and flow not in wanted:
                    wanted.append(flow)
        triggered = [flow for flow in wanted if self.jobs.trigger(connection, flow, reason="webhook")]
        self._count(system, connection, "accepted" if fresh else "duplicate")
        log.debug("%s webhook for %s: %s → %s", system, connection, ", ".join(e.event_type for e in events) or "-",
                  ", ".join(triggered) or "nothing", extra={"connection": connection})
        return 200, {"accepted": len(fresh), "duplicates": len(events) - len(fresh), "triggered": triggered}

    def _first_receipt(self, connection_id: int, system: str, delivery_key: str) -> bool:
        key = hashlib.sha256(f"{connection_id}:{system}:{delivery_key}".encode()).hexdigest()
        try:
            with self.app.store.session() as s:
                s.add(WebhookDelivery(connection_id=connection_id, system=system, delivery_key=key))
                s.commit()
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError:
            # The table is only an optimisation (a repeat merely polls again): never drop a trigger for it.
            log.warning("could not record webhook delivery %s; treating it as new", key[:12], exc_info=True)
            return True

    def _count(self, system: str, connection: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.webhook(system, connection, outcome)

    def _refuse(self, connection_id: int, system: str, connection: str, outcome: str, reason: str, fix: str) -> None:
        self._count(system, connection, outcome)
        now = time.monotonic()
        with self._lock:
            last = self._complained.get((connection, system))
            if last is not None and now - last < COMPLAINT_SECONDS:
                return
            self._complained[(connection, system)] = now
        log.warning("refused a %s webhook for %s: %s", system, connection, reason, extra={"connection": connection})
        try:
            self.app.store.write_log(connection_id, "warning", f"a {system} webhook was refused: {reason}",
                                     fix=fix, category="webhook")
        except SQLAlchemyError:
            log.exception("could not write the connection log of %s", connection)


def webhook_routes(receiver: WebhookReceiver) -> list[Route]:
    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, 413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, 413)
        system, connection = request.path_params["system"], request.path_params["connection"]
        status, payload = await run_in_threadpool(receiver.handle, system, connection, dict(request.headers), body)
        return JSONResponse(payload, status)

    return [Route("/webhooks/{system}/{connection}", receive, methods=["POST"])]


__all__ = ["WebhookReceiver", "webhook_path", "webhook_routes"]
