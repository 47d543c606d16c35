"""What the daemon remembers about each scheduled flow, and how a failing flow backs off.

A flow that fails is tried again later and later (its interval, then twice, four times... up to
``max_delay``), so a connection whose remote is down or whose credentials were revoked costs
little and floods neither the remote nor the log; the first success resets it. A *deferred*
flow (rate limited, quota spent) is not a failure: it waits as long as the remote asked.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass(frozen=True)
class BackoffPolicy:
    """Delay before the next attempt after ``failures`` consecutive failures.

    ``interval × 2^(failures−1)``, capped at ``max(max_delay, interval)``, with ±``jitter``
    spread so that many connections failing together (one remote down) do not retry in step.
    """

    max_delay: float = 900.0
    jitter: float = 0.1

    def delay(self, failures: int, interval: float, rng: random.Random | None = None) -> float:
        if failures <= 0:
            return 0.0
        cap = max(self.max_delay, interval)
        base = min(cap, interval * 2 ** min(failures - 1, 30))
        spread = (rng or random).uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(0.0, min(cap, base * (1 + spread)))


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat() if ts else None


@dataclass
class FlowState:
    """One job's live state (``{connection}:{flow}``); shared by the job, webhooks and /healthz.

    Times are Unix seconds. ``not_before`` holds a failing or deferred flow back; ``pending``
    records a trigger that arrived while the flow was running, so it runs again right after.
    """

    connection: str
    flow: str
    interval: float
    last_success: float | None = None  # when the last successful run finished
    fresh_as_of: float | None = None  # when it started: every older change was synced by it
    last_run: float | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_written: int = 0
    consecutive_failures: int = 0
    not_before: float | None = None
    running_since: float | None = None
    pending: str | None = None  # the reason of a trigger that arrived during a run
    reason: str | None = None  # why the next run happens (webhook, retry...), else "schedule"
    lag: float | None = None  # the largest record lag (source change → commit) of the last run
    runs: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def job_id(self) -> str:
        return job_id(self.connection, self.flow)

    def staleness(self, now: float) -> float | None:
        """Seconds since the start of the last successful run: every change older than that has
        been synced, so this bounds the lag of any record of the flow."""
        return max(0.0, now - self.fresh_as_of) if self.fresh_as_of else None

    def as_dict(self, now: float) -> dict[str, object]:
        with self.lock:
            return {
                "interval_seconds": self.interval,
                "last_success": _iso(self.last_success),
                "last_run": _iso(self.last_run),
                "last_status": self.last_status,
                "last_error": self.last_error,
                "running": self.running_since is not None,
                "consecutive_failures": self.consecutive_failures,
                "backoff_until": _iso(self.not_before) if self.not_before and self.not_before > now else None,
                "backoff_seconds": round(self.not_before - now, 3) if self.not_before and self.not_before > now
                else 0.0,
                "staleness_seconds": _round(self.staleness(now)),
                "lag_seconds": _round(self.lag),
                "runs": self.runs,
            }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def job_id(connection: str, flow: str) -> str:
    """The stable id of a flow's job: connection names cannot contain ``:``."""
    return f"{connection}:{flow}"


__all__ = ["BackoffPolicy", "FlowState", "job_id"]
