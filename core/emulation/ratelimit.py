"""Server-side rate-limit counters for emulators (the remote service's view, not a client's)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .clock import ScaledClock


@dataclass(frozen=True)
class WindowState:
    limit: int
    remaining: int
    resets_at: float  # emulated Unix time when the current window ends

    @property
    def exceeded(self) -> bool:
        return self.remaining < 0


class FixedWindowCounter:
    """Counts hits per key in fixed windows of ``window_seconds`` emulated seconds.

    Vendors do not say whether their windows are fixed or sliding (Lightspeed's rate-limiting page
    is silent on it, see https://x-series-api.lightspeedhq.com/docs/rate_limiting); a fixed window is the stricter
    reading for a client at the window edge, so emulators use it.
    """

    def __init__(self, clock: ScaledClock, window_seconds: float) -> None:
        self._clock = clock
        self._window = window_seconds
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, limit: int) -> WindowState:
        """Count one request; ``remaining`` goes negative once the limit is passed."""
        now = self._clock.time()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self._window:
                start, count = now, 0
            count += 1
            self._windows[key] = (start, count)
        return WindowState(limit=limit, remaining=limit - count, resets_at=start + self._window)

    def peek(self, key: str, limit: int) -> WindowState:
        now = self._clock.time()
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
        if now - start >= self._window:
            start, count = now, 0
        return WindowState(limit=limit, remaining=limit - count, resets_at=start + self._window)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
