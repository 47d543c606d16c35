"""Vendor limits that span tenants, shared by every worker: pyrate-limiter buckets in PostgreSQL.

A connector declares the limits of its vendor that count every connection of the app
(``Connector.app_rate_limits``, e.g. an accounting API's calls per minute per app). In a single
daemon they need no enforcement; with many workers on many machines, a per-process counter would
let N workers spend N times the budget. So each worker installs :class:`SharedLimits` as the
app's ``shared_limiter``: one ``PostgresBucket`` per system (table ``ratelimit___<system>``) in
tillbridge's own database, which every process reads and writes under a table lock. A call
waits (blocking) for a permit; the wait counts as the call's own pacing.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Callable

from psycopg_pool import ConnectionPool
from pyrate_limiter import Limiter, Rate
from pyrate_limiter.buckets.postgres import PostgresBucket

from ..http import AppRateLimit
from .queue import conninfo

log = logging.getLogger("tillbridge.distributed.limits")


class SharedLimits:
    """``(system, limits) -> acquire``: the app's ``shared_limiter`` in distributed mode."""

    def __init__(self, database_url: str, *, pool_size: int = 2) -> None:
        self.pool = ConnectionPool(conninfo(database_url), min_size=1, max_size=pool_size, open=True,
                                   kwargs={"autocommit": False})
        self._lock = threading.Lock()
        self._limiters: dict[str, Limiter] = {}

    def limiter(self, system: str, limits: tuple[AppRateLimit, ...]) -> Limiter:
        with self._lock:
            limiter = self._limiters.get(system)
            if limiter is None:
                rates = sorted((Rate(limit.calls, int(limit.seconds * 1000)) for limit in limits),
                               key=lambda r: r.interval)
                table = re.sub(r"[^a-z0-9_]", "_", system.lower())
                limiter = self._limiters[system] = Limiter(PostgresBucket(self.pool, table, rates))
            return limiter

    def __call__(self, system: str, limits: tuple[AppRateLimit, ...]) -> Callable[[], None] | None:
        if not limits:
            return None
        limiter = self.limiter(system, limits)

        def acquire() -> None:
            limiter.try_acquire(system, blocking=True)

        return acquire

    def close(self) -> None:
        self.pool.close()


__all__ = ["SharedLimits"]
