"""Lightspeed's API rate limit: 300 × registers + 50 requests per 5 minutes
(https://x-series-api.lightspeedhq.com/docs/rate_limiting).

Counted per retailer per application (the current docs; the old Vend docs had one bucket per
retailer), in fixed windows of emulated time.
"""

from __future__ import annotations

from collections.abc import Callable

from tillbridge.emulation import FixedWindowCounter, ScaledClock, WindowState

from .wallclock import http_date, to_wall_time

WINDOW_SECONDS = 300.0
#: https://x-series-api.lightspeedhq.com/docs/rate_limiting: the documented 429 body.
RATE_LIMITED_BODY = {"error": "Too Many Requests", "message": "Rate limiting enforced"}


class RateLimiter:
    def __init__(self, clock: ScaledClock, domain_prefix: str, registers: Callable[[], int], enabled: bool) -> None:
        self._clock = clock
        self._domain_prefix = domain_prefix
        self._registers = registers
        self._counter = FixedWindowCounter(clock, WINDOW_SECONDS)
        self.enabled = enabled

    def limit(self) -> int:
        return 300 * self._registers() + 50

    def hit(self, app: str) -> WindowState:
        """Count one request of ``app``. Counted even when limiting is off, for the headers."""
        return self._counter.hit(f"{self._domain_prefix}:{app}", self.limit())

    def refused(self, state: WindowState) -> bool:
        return self.enabled and state.exceeded

    def headers(self, state: WindowState) -> dict[str, str]:
        # https://x-series-api.lightspeedhq.com/docs/rate_limiting: every response carries X-RateLimit-Limit and
        # X-RateLimit-Remaining; Reset (epoch
        # seconds) is documented for the token endpoint and sent here too, as real wall time.
        return {
            "X-RateLimit-Limit": str(state.limit),
            "X-RateLimit-Remaining": str(max(state.remaining, 0)),
            "X-RateLimit-Reset": str(int(to_wall_time(self._clock, state.resets_at) + 0.999)),
        }

    def retry_after(self, state: WindowState) -> str:
        """https://x-series-api.lightspeedhq.com/docs/rate_limiting: an RFC 1123 HTTP-date, not seconds: the real moment
        the emulated window ends."""
        return http_date(to_wall_time(self._clock, state.resets_at))

    def reset(self) -> None:
        self._counter.reset()
