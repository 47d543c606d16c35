"""Replay store behind idempotent writes (Xero ``Idempotency-Key``, QuickBooks ``requestid``).

The first response to a key is kept for a window of emulated seconds and handed back, byte for
byte, to every repeat, errors included; a repeat that is not the same request is reported so
the caller can answer the way its vendor does.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Hashable

from tillbridge.emulation import ScaledClock


@dataclass(frozen=True)
class CachedResponse:
    status: int
    body: bytes
    headers: dict[str, str]
    fingerprint: str
    stored_at: float


def fingerprint(*parts: str | bytes) -> str:
    """A digest of whatever makes two requests "the same" (method, path, query, body...)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


class ResponseCache:
    def __init__(self, clock: ScaledClock, window_seconds: float | None) -> None:
        self._clock = clock
        self.window = window_seconds
        self._lock = threading.Lock()
        self._entries: dict[Hashable, CachedResponse] = {}

    def _live(self, entry: CachedResponse) -> bool:
        return self.window is None or self._clock.time() - entry.stored_at < self.window

    def get(self, key: Hashable) -> CachedResponse | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not self._live(entry):
                del self._entries[key]
                return None
            return entry

    def put(self, key: Hashable, fingerprint_: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            # Re-insert so the dict stays in storage order, then drop expired entries from the
            # front: a long benchmark run must not keep every key it ever used.
            self._entries.pop(key, None)
            self._entries[key] = CachedResponse(status, body, dict(headers), fingerprint_, self._clock.time())
            while self._entries:
                oldest_key = next(iter(self._entries))
                if self._live(self._entries[oldest_key]):
                    break
                del self._entries[oldest_key]

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if self._live(e))
