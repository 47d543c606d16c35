"""Connection runtimes for a long-running process: shared while current, replaced when stale.

``App.runtime()`` caches one ``ConnectionRuntime`` per connection (its connectors, HTTP clients,
settings), and ``App.forget_runtime()`` closes it at once, which would pull the HTTP client from
under a run in flight. The daemon needs both: flows of a connection share one runtime (one
client per remote, so pacing on rate-limit headers sees every call), and a setting changed or
credentials re-entered while it runs must take effect. So runs borrow a runtime from this pool;
marking a connection stale hands the *next* runs a fresh one, and the old one is closed when its
last run gives it back.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..app import App, ConnectionRuntime


@dataclass
class _Entry:
    runtime: ConnectionRuntime
    users: int = 0
    stale: bool = False


class RuntimePool:
    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._current: dict[str, _Entry] = {}
        self._retired: list[_Entry] = []

    def acquire(self, name: str) -> ConnectionRuntime:
        """The connection's current runtime (built on first use); give it back with :meth:`release`."""
        with self._lock:
            entry = self._current.get(name)
        if entry is None:
            fresh = ConnectionRuntime(self.app, self.app.store.connection(name))  # reads the DB: no lock held
            with self._lock:
                entry = self._current.setdefault(name, _Entry(fresh))
            if entry.runtime is not fresh:
                fresh.close()
        with self._lock:
            entry.users += 1
            return entry.runtime

    def release(self, runtime: ConnectionRuntime) -> None:
        to_close = None
        with self._lock:
            for entry in [*self._current.values(), *self._retired]:
                if entry.runtime is runtime:
                    entry.users -= 1
                    if entry.stale and entry.users <= 0:
                        self._retired.remove(entry)
                        to_close = entry.runtime
                    break
        if to_close is not None:
            to_close.close()

    def invalidate(self, name: str) -> None:
        """Later runs get a new runtime (new settings, credentials, systems); the old one is
        closed once unused. Also drops the app's own cached runtime, which holds no connectors
        in the daemon (only the default location hook reads it)."""
        to_close = None
        with self._lock:
            entry = self._current.pop(name, None)
            if entry is not None:
                if entry.users > 0:
                    entry.stale = True
                    self._retired.append(entry)
                else:
                    to_close = entry.runtime
        if to_close is not None:
            to_close.close()
        self.app.forget_runtime(name)

    def close(self) -> None:
        with self._lock:
            entries = [*self._current.values(), *self._retired]
            self._current.clear()
            self._retired.clear()
        for entry in entries:
            entry.runtime.close()


__all__ = ["RuntimePool"]
