"""The monthly API call quota.

https://intercom.help/unleashed-support/en/articles/11582291-understanding-your-api-usage-limits: Unleashed counts API
calls per calendar month (reset on the
1st at 00:00 UTC); at 100 % *all* requests are blocked until the reset. Warnings go out by email at
90 %, 95 % and 100 %; we record when each threshold was crossed instead. The status and body of a
blocked call are undocumented [?]: status is configurable (``quota_status``, default 429) and the
body explains the quota in the emulator's error shape.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from tillbridge.emulation import ScaledClock

from .errors import UnleashedError

WARNING_LEVELS = (90, 95, 100)


def next_month_start(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc)


class MonthlyQuota:
    def __init__(self, clock: ScaledClock, limit: int | None, status: int = 429) -> None:
        self._clock = clock
        self.limit = limit
        self.status = status
        self._lock = threading.Lock()
        self._counts: dict[tuple[int, int], int] = {}
        self.warnings: list[dict[str, object]] = []

    def _month(self) -> tuple[int, int]:
        now = self._clock.now()
        return now.year, now.month

    def used(self) -> int:
        with self._lock:
            return self._counts.get(self._month(), 0)

    def hit(self) -> None:
        """Count one call, or raise the configured refusal when this month's quota is spent."""
        month = self._month()
        with self._lock:
            used = self._counts.get(month, 0)
            if self.limit is not None and used >= self.limit:
                raise self._refusal(used)
            self._counts[month] = used + 1
            self._warn(used, used + 1)

    def _warn(self, before: int, after: int) -> None:
        if not self.limit:
            return
        for level in WARNING_LEVELS:
            threshold = self.limit * level / 100
            if before < threshold <= after:
                self.warnings.append({"level": level, "at": self._clock.now().isoformat(), "used": after})

    def _refusal(self, used: int) -> UnleashedError:
        now = self._clock.now()
        resets = next_month_start(now)
        retry_after = max(1, int((resets - now).total_seconds()))
        return UnleashedError(
            self.status,
            f"API call quota exceeded: {used} of {self.limit} calls used this month. "
            f"All API requests are blocked until the quota resets on {resets:%Y-%m-%d} 00:00 UTC.",
            headers={"Retry-After": str(retry_after)} if self.status == 429 else {},
            extra={"Quota": self.limit, "Used": used, "ResetsOn": resets},
        )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.warnings.clear()
