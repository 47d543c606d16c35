"""``/metrics``: Prometheus text, from engine events and the flows' live state.

An ``on_sync_event`` observer (registered on the daemon's plugin manager) counts what the engine
reports; a custom collector reads each flow's :class:`~.backoff.FlowState` at scrape time.
Every metric lives in this daemon's own registry (not the process-global one), so tests and
embedders can run several daemons in one process.

Exposed (all labelled by ``connection``; flows by ``flow``; remote systems by ``system``):

* ``tillbridge_records_synced_total{status=created|updated|unchanged}``, ``tillbridge_records_failed_total``,
  ``tillbridge_records_held_total``: records, per flow;
* ``tillbridge_flow_runs_total{status=ok|deferred|failed}``, ``tillbridge_flow_runs_skipped_total``;
* ``tillbridge_api_calls_total{status}`` (HTTP status, ``0`` = no answer),
  ``tillbridge_api_call_seconds`` (histogram), ``tillbridge_api_rate_limit_remaining`` (the
  remote's own budget header, for systems that send one);
* ``tillbridge_record_lag_seconds`` (histogram: source change → commit), ``tillbridge_flow_lag_seconds``
  (worst record lag of the last run), ``tillbridge_flow_staleness_seconds`` (since the start of the
  last successful run), ``tillbridge_flow_last_success_timestamp_seconds``,
  ``tillbridge_flow_consecutive_failures``, ``tillbridge_flow_backoff_seconds``, ``tillbridge_flow_interval_seconds``;
* ``tillbridge_webhooks_received_total{system,outcome=accepted|duplicate|rejected|unverifiable|unknown}``.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from ..events import SyncEvent
from ..hookspecs import hookimpl
from .backoff import FlowState
from .freshness import current

log = logging.getLogger("tillbridge.daemon.metrics")

LAG_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, float("inf"))
CONTENT_TYPE = CONTENT_TYPE_LATEST


class _FlowCollector(Collector):
    def __init__(self, states: Callable[[], Iterable[FlowState]]) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = time.time()
        labels = ["connection", "flow"]
        families = {
            "lag": GaugeMetricFamily("tillbridge_flow_lag_seconds",
                                     "Worst record lag (source change to commit) of the flow's last run", labels=labels),
            "staleness": GaugeMetricFamily("tillbridge_flow_staleness_seconds",
                                           "Seconds since the start of the flow's last successful run", labels=labels),
            "last": GaugeMetricFamily("tillbridge_flow_last_success_timestamp_seconds",
                                      "Unix time the flow last finished successfully", labels=labels),
            "failures": GaugeMetricFamily("tillbridge_flow_consecutive_failures",
                                          "Failed runs in a row (0 when healthy)", labels=labels),
            "backoff": GaugeMetricFamily("tillbridge_flow_backoff_seconds",
                                         "Seconds until a failing or deferred flow is tried again", labels=labels),
            "interval": GaugeMetricFamily("tillbridge_flow_interval_seconds", "Polling interval", labels=labels),
            "running": GaugeMetricFamily("tillbridge_flow_running", "1 while the flow runs", labels=labels),
        }
        for state in self._states():
            key = [state.connection, state.flow]
            with state.lock:
                lag, stale, last = state.lag, state.staleness(now), state.last_success
                failures, not_before, interval = state.consecutive_failures, state.not_before, state.interval
                running = state.running_since is not None
            if lag is not None:
                families["lag"].add_metric(key, lag)
            if stale is not None:
                families["staleness"].add_metric(key, stale)
            if last is not None:
                families["last"].add_metric(key, last)
            families["failures"].add_metric(key, failures)
            families["backoff"].add_metric(key, max(0.0, (not_before or now) - now))
            families["interval"].add_metric(key, interval)
            families["running"].add_metric(key, 1 if running else 0)
        yield from families.values()


class Metrics:
    """The daemon's metrics; also a plugin (``on_sync_event``)."""

    def __init__(self, states: Callable[[], Iterable[FlowState]]) -> None:
        disable_created_metrics()  # no *_created series: they double the output for nothing we use
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter("tillbridge_records_synced", "Records written or found unchanged, per flow",
                               ["connection", "flow", "status"], registry=r)
        self.failed = Counter("tillbridge_records_failed", "Records the target refused", ["connection", "flow"],
                              registry=r)
        self.held = Counter("tillbridge_records_held", "Records held for a missing mapping or dependency",
                            ["connection", "flow"], registry=r)
        self.runs = Counter("tillbridge_flow_runs", "Flow runs by outcome", ["connection", "flow", "status"],
                            registry=r)
        self.skipped = Counter("tillbridge_flow_runs_skipped",
                               "Runs not started because the previous run was still going", ["connection", "flow"],
                               registry=r)
        self.api_calls = Counter("tillbridge_api_calls", "HTTP calls to remote systems",
                                 ["connection", "system", "status"], registry=r)
        self.api_seconds = Histogram("tillbridge_api_call_seconds", "Duration of HTTP calls to remote systems",
                                     ["system"], registry=r)
        self.rate_remaining = Gauge("tillbridge_api_rate_limit_remaining",
                                    "Calls left in the remote's rate-limit window (its own header)",
                                    ["connection", "system"], registry=r)
        self.lag = Histogram("tillbridge_record_lag_seconds", "Source change to commit in the target, per record",
                             ["connection", "flow"], buckets=LAG_BUCKETS, registry=r)
        self.webhooks = Counter("tillbridge_webhooks_received", "Webhook deliveries by outcome",
                                ["system", "connection", "outcome"], registry=r)
        self.started = Gauge("tillbridge_daemon_start_time_seconds", "Unix time the daemon started", registry=r)
        self.started.set(time.time())
        r.register(_FlowCollector(states))

    @hookimpl
    def on_sync_event(self, event: SyncEvent) -> None:
        try:
            self._observe(event)
        except Exception:  # an observer must never disturb a sync
            log.exception("metrics could not record a %s event", event.kind)

    def _observe(self, event: SyncEvent) -> None:
        conn, flow = event.connection, event.flow or ""
        if event.kind == "api_call":
            system = event.system or ""
            self.api_calls.labels(conn, system, str(event.detail.get("status", 0))).inc()
            if event.detail.get("seconds") is not None:
                self.api_seconds.labels(system).observe(float(event.detail["seconds"]))
            remaining = event.detail.get("remaining")
            if remaining not in (None, ""):
                try:
                    self.rate_remaining.labels(conn, system).set(float(remaining))
                except (TypeError, ValueError):
                    pass
        elif event.kind == "record_written":
            self.records.labels(conn, flow, str(event.detail.get("status", "written"))).inc()
            run = current()
            lag = run.written(event.key, event.at) if run is not None else None
            if lag is not None:
                self.lag.labels(conn, flow).observe(lag)
        elif event.kind == "record_failed":
            self.failed.labels(conn, flow).inc()
        elif event.kind == "record_held":
            self.held.labels(conn, flow).inc()
        elif event.kind == "run_finished":
            self.runs.labels(conn, flow, str(event.detail.get("status", "ok"))).inc()

    def webhook(self, system: str, connection: str, outcome: str) -> None:
        self.webhooks.labels(system, connection, outcome).inc()

    def run_skipped(self, connection: str, flow: str) -> None:
        self.skipped.labels(connection, flow).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "Metrics"]
