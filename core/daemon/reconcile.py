"""Our tables decide what runs: the reconciler turns them into jobs, every few seconds.

Wanted: one job per (connection, enabled flow), at the interval its settings say. Scheduled:
what the scheduler holds. The difference is applied (add, reschedule, remove), so a connection
added, a switch turned on, or an interval changed with the CLI or the web console while the
daemon runs takes effect within ``reconcile_seconds``, without a restart. A connection whose
settings, systems or credentials changed gets a fresh runtime; new credentials also end the
pause of its failing flows (the operator fixed something: try now).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from sqlmodel import select

from ..app import App
from ..flows import Flow
from ..services import ordered_flows
from ..storage.models import Credential
from .jobs import FlowJobs, first_runs
from .options import ACCOUNTING_INTERVAL, FALLBACK_INTERVAL, DaemonOptions
from .runtimes import RuntimePool
from .scheduler import Scheduler

log = logging.getLogger("tillbridge.daemon.reconcile")


def interval_for(flow: Flow, settings: Mapping[str, Any]) -> float:
    """The flow's polling interval: its ``interval_setting``, else its own ``interval``, else
    the daemon's default."""
    if flow.interval_setting and settings.get(flow.interval_setting) is not None:
        return float(settings[flow.interval_setting])
    if flow.interval is not None:
        return float(flow.interval)
    if flow.target_role == "accounting":
        return ACCOUNTING_INTERVAL
    return FALLBACK_INTERVAL


def enabled_flows(flows: list[Flow], roles: set[str], settings: Mapping[str, Any]) -> list[Flow]:
    """Flows a connection runs: both roles filled and the switch (if any) on (as ``FlowRunner.enabled``)."""
    return [f for f in flows if f.source_role in roles and f.target_role in roles
            and (not f.switch or bool(settings.get(f.switch)))]


@dataclass(frozen=True)
class ConnectionView:
    """What the webhook listener needs to know about a connection, refreshed by each pass."""

    id: int
    name: str
    systems: Mapping[str, str]  # role → system
    flows: frozenset[str]  # enabled flows

    def has_system(self, system: str) -> bool:
        return system in self.systems.values()


class Reconciler:
    def __init__(self, app: App, scheduler: Scheduler, jobs: FlowJobs, pool: RuntimePool,
                 options: DaemonOptions) -> None:
        self.app = app
        self.scheduler = scheduler
        self.jobs = jobs
        self.pool = pool
        self.options = options
        self._lock = threading.Lock()
        self._config: dict[str, str] = {}
        self._credentials: dict[str, str] = {}
        self._views: dict[str, ConnectionView] = {}
        self.passes = 0

    def view(self, name: str) -> ConnectionView | None:
        with self._lock:
            return self._views.get(name)

    def views(self) -> dict[str, ConnectionView]:
        with self._lock:
            return dict(self._views)

    def run(self) -> None:
        """The reconcile job: never raises (a database hiccup is retried next pass)."""
        try:
            self.reconcile()
        except Exception:
            log.exception("reconciling jobs with the database failed; retrying in %.0fs",
                          self.options.reconcile_seconds)

    def reconcile(self) -> None:
        store = self.app.store
        flows = ordered_flows(self.app)
        registry = self.app.registries.settings
        wanted: dict[str, tuple[str, str, float]] = {}
        views: dict[str, ConnectionView] = {}
        connections = [c for c in store.connections()
                       if not self.options.connections or c.name in self.options.connections]
        for conn in connections:
            cid = conn.id or 0
            settings = registry.resolve(store.settings(cid))
            systems = store.systems(cid)
            config = json.dumps([settings, sorted((r, s.system, s.base_url) for r, s in systems.items())],
                                sort_keys=True, default=str)
            stamp = self._credential_stamp(cid)
            old_config, old_stamp = self._config.get(conn.name), self._credentials.get(conn.name)
            if old_config is not None and (old_config != config or old_stamp != stamp):
                log.info("connection %s changed; its next runs use the new configuration", conn.name,
                         extra={"connection": conn.name})
                self.pool.invalidate(conn.name)
            if old_stamp is not None and old_stamp != stamp:
                self.jobs.reset_backoff(conn.name)
            self._config[conn.name], self._credentials[conn.name] = config, stamp
            active = enabled_flows(flows, set(systems), settings)
            for flow in active:
                wanted[f"{conn.name}:{flow.name}"] = (conn.name, flow.name, interval_for(flow, settings))
            views[conn.name] = ConnectionView(cid, conn.name, {r: s.system for r, s in systems.items()},
                                              frozenset(f.name for f in active))
        with self._lock:
            self._views = views
        self._apply(wanted, {c.name: c.id or 0 for c in connections}, len(flows))
        for gone in set(self._config) - set(views):
            self._config.pop(gone, None)
            self._credentials.pop(gone, None)
            self.pool.invalidate(gone)
        self.passes += 1

    def _apply(self, wanted: dict[str, tuple[str, str, float]], ids: dict[str, int], flow_count: int) -> None:
        existing = {s.job_id: s for s in self.jobs.states()}
        for jid in set(existing) - set(wanted):
            log.info("job %s removed", jid, extra={"connection": existing[jid].connection, "flow": existing[jid].flow})
            self.jobs.remove(jid)
        start = time.time()
        new_by_connection: dict[str, list[tuple[str, float]]] = {}
        for jid, (conn, flow, interval) in wanted.items():
            state = existing.get(jid)
            if state is None:
                new_by_connection.setdefault(conn, []).append((flow, interval))
            elif abs(state.interval - interval) > 1e-6:
                log.info("job %s: every %.0fs (was %.0fs)", jid, interval, state.interval,
                         extra={"connection": conn, "flow": flow})
                self.jobs.set_interval(conn, flow, interval)
        for index, (conn, new) in enumerate(sorted(new_by_connection.items())):
            # Its own threads: one per flow it could ever run, so a slow remote only slows itself.
            pool = self.scheduler.ensure_pool(conn, flow_count + 1)
            times = first_runs(len(new), start=start + 0.1 * index)
            for (flow, interval), first in zip(new, times):
                last = self.app.store.last_success(ids[conn], flow)
                self.jobs.add(conn, flow, interval, pool=pool, first_run=first, last_success=_aware(last))
                log.info("job %s:%s: every %.0fs", conn, flow, interval, extra={"connection": conn, "flow": flow})
        for name in self.scheduler.pools() - {conn for conn, _, _ in wanted.values()}:
            self.scheduler.drop_pool(name)

    def _credential_stamp(self, connection_id: int) -> str:
        with self.app.store.session() as s:
            rows = s.exec(select(Credential.system, Credential.updated_at)
                          .where(Credential.connection_id == connection_id))
            return ";".join(f"{system}@{updated}" for system, updated in sorted(rows.all(), key=lambda r: r[0]))


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


__all__ = ["ConnectionView", "Reconciler", "enabled_flows", "interval_for"]
