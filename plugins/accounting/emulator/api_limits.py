"""Server-side admission control: fixed-window quotas plus a cap on requests in flight.

A refused request does not use up quota (it never reached the API), so a client that honours
``Retry-After`` gets in as soon as the window turns over.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from tillbridge.emulation import FixedWindowCounter, ScaledClock


@dataclass(frozen=True)
class WindowQuota:
    """``limit`` requests per window of ``counter`` for ``key``; ``problem`` names it in a 429."""

    problem: str
    counter: FixedWindowCounter
    key: str
    limit: int


@dataclass(frozen=True)
class Admission:
    allowed: bool
    problem: str | None = None
    #: Emulated seconds until the refusing window turns over (0 when allowed).
    wait_seconds: float = 0.0
    #: Remaining requests per quota problem name, after counting this request.
    remaining: dict[str, int] = field(default_factory=dict)


class ConcurrencyGauge:
    """Requests in flight per key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    def try_enter(self, key: str, limit: int) -> bool:
        with self._lock:
            if self._in_flight[key] >= limit:
                return False
            self._in_flight[key] += 1
            return True

    def leave(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]

    def current(self, key: str) -> int:
        with self._lock:
            return self._in_flight[key]


class Limiter:
    """Checks every quota and the concurrency cap atomically, then counts the request."""

    def __init__(self, clock: ScaledClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.gauge = ConcurrencyGauge()

    def admit(
        self,
        quotas: list[WindowQuota],
        concurrency_key: str,
        concurrency_limit: int,
        concurrency_wait: float = 1.0,
    ) -> Admission:
        """On success the caller must call ``gauge.leave(concurrency_key)`` when done."""
        with self._lock:
            now = self._clock.time()
            for quota in quotas:
                state = quota.counter.peek(quota.key, quota.limit)
                if state.remaining <= 0:
                    remaining = {q.problem: max(0, q.counter.peek(q.key, q.limit).remaining) for q in quotas}
                    return Admission(False, quota.problem, max(0.0, state.resets_at - now), remaining)
            if not self.gauge.try_enter(concurrency_key, concurrency_limit):
                remaining = {q.problem: max(0, q.counter.peek(q.key, q.limit).remaining) for q in quotas}
                return Admission(False, "concurrent", concurrency_wait, remaining)
            remaining = {q.problem: max(0, q.counter.hit(q.key, q.limit).remaining) for q in quotas}
            return Admission(True, remaining=remaining)


async def wait_until(condition: Callable[[], bool]) -> None:
    """Park an admitted request (without blocking the event loop) until ``condition()`` holds."""
    while not condition():
        await asyncio.sleep(0.005)
