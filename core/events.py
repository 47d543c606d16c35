"""Events the engine emits to ``on_sync_event`` observers (metrics, logs, the web console)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

EventKind = Literal["run_started", "run_finished", "record_written", "record_failed", "record_held", "api_call"]


@dataclass(frozen=True)
class SyncEvent:
    """One thing that happened. ``detail`` carries kind-specific values (counts, status codes)."""

    kind: EventKind
    connection: str
    flow: str | None = None
    system: str | None = None
    key: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
