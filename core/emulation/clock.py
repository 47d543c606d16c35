"""A clock that can run faster than real time.

Emulators measure rate-limit windows and token lifetimes with this clock, so a test or benchmark
can compress a 5-minute Lightspeed window or a 30-minute Xero token into seconds.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone


class ScaledClock:
    """Monotonic emulated time: ``scale`` emulated seconds pass for every real second.

    ``advance()`` jumps forward instantly (for tests that want a token to expire *now*).
    """

    def __init__(self, scale: float = 1.0, start: datetime | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self._lock = threading.Lock()
        self._scale = scale
        self._real0 = time.monotonic()
        self._emulated0 = (start or datetime.now(timezone.utc)).timestamp()
        self._offset = 0.0

    @property
    def scale(self) -> float:
        return self._scale

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        with self._lock:
            now = self._time_unlocked()
            self._scale = scale
            self._real0 = time.monotonic()
            self._emulated0 = now
            self._offset = 0.0

    def _time_unlocked(self) -> float:
        return self._emulated0 + (time.monotonic() - self._real0) * self._scale + self._offset

    def time(self) -> float:
        """Emulated Unix time in seconds."""
        with self._lock:
            return self._time_unlocked()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def real_seconds(self, emulated_seconds: float) -> float:
        """How long, in real seconds, an emulated duration lasts."""
        return emulated_seconds / self._scale

    def in_future(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)
