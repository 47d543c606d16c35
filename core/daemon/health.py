"""``/healthz``: per connection and flow, is it in step, and if not, why and until when.

The answer is 200 while the scheduler runs (the process is alive and doing its job, even if a
connection is failing: that is the connection's problem, shown in the body) and 503 when it
is not running or shutting down, so a supervisor restarts only a daemon that is really stuck.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from .backoff import FlowState
from .reconcile import ConnectionView


def health_report(states: Iterable[FlowState], views: Mapping[str, ConnectionView], *, started_at: float,
                  scheduler_running: bool, stopping: bool,
                  next_run: Callable[[str], datetime | None]) -> tuple[dict[str, object], int]:
    """The JSON body and HTTP status of ``/healthz``."""
    now = time.time()
    connections: dict[str, dict[str, Any]] = {
        name: {"systems": dict(view.systems), "status": "idle", "flows": {}} for name, view in sorted(views.items())
    }
    for state in sorted(states, key=lambda s: (s.connection, s.flow)):
        entry = connections.setdefault(state.connection, {"systems": {}, "status": "idle", "flows": {}})
        flow = state.as_dict(now)
        when = next_run(state.job_id)
        flow["next_run"] = when.isoformat() if when else None
        entry["flows"][state.flow] = flow
    for entry in connections.values():
        flows = entry["flows"].values()
        if any(f["consecutive_failures"] for f in flows):
            entry["status"] = "failing"
        elif any(f["last_status"] == "deferred" for f in flows):
            entry["status"] = "deferred"
        elif flows and all(f["last_success"] for f in flows):
            entry["status"] = "ok"
        elif flows:
            entry["status"] = "starting"
        stale = [f["staleness_seconds"] for f in flows if f["staleness_seconds"] is not None]
        entry["staleness_seconds"] = max(stale) if stale else None
    healthy = scheduler_running and not stopping
    status = "stopping" if stopping else ("down" if not scheduler_running else
                                          ("degraded" if any(c["status"] == "failing" for c in connections.values())
                                           else "ok"))
    body: dict[str, object] = {
        "status": status,
        "started_at": datetime.fromtimestamp(started_at, tz=timezone.utc).isoformat(),
        "uptime_seconds": round(now - started_at, 3),
        "connections": connections,
    }
    return body, 200 if healthy else 503


__all__ = ["health_report"]
