"""Named locks shared by every thread and every process on one database (``ConnectionState.lock``).

Two halves, taken in this order and released in reverse:

* a ``threading.Lock`` per (database, connection, namespace, name), the same object for every
  caller in the process (two connector instances of one connection, a daemon thread and a CLI
  command in one process);
* a lock the other processes see: on PostgreSQL a session advisory lock held on a connection of
  its own (the server drops it if the process dies); on a SQLite file an ``flock`` on a small file
  beside the database (the kernel drops it if the process dies). In-memory SQLite lives in one
  process, so the first half is all there is.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from .storage.db import sqlite_path

try:
    import fcntl
except ImportError:  # Windows: processes sharing a SQLite file are not serialised by this lock
    fcntl = None  # type: ignore[assignment]  # typeshed types the name as the module, never None

#: How often a bounded wait tries the other processes' half again.
POLL_SECONDS = 0.05

_THREAD_LOCKS: dict[tuple[str, int, str, str], threading.Lock] = {}
_GUARD = threading.Lock()


def _thread_lock(key: tuple[str, int, str, str]) -> threading.Lock:
    with _GUARD:
        lock = _THREAD_LOCKS.get(key)
        if lock is None:
            lock = _THREAD_LOCKS[key] = threading.Lock()
        return lock


def advisory_key(connection_id: int, namespace: str, name: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for one lock name."""
    digest = hashlib.blake2b(f"tillbridge.state/{connection_id}/{namespace}/{name}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class StateLock:
    """A reusable, non-reentrant lock: ``with lock: ...`` or ``acquire(timeout=...)`` / ``release()``.

    One object may be kept and entered again and again (the OAuth refresh does); while it is held,
    no other thread or process holding a lock of the same database, connection, namespace and name
    gets past ``acquire``.
    """

    def __init__(self, engine: Engine, connection_id: int, namespace: str, name: str) -> None:
        self.engine = engine
        self.connection_id = connection_id
        self.namespace = namespace
        self.name = name
        url = str(engine.url)
        self._thread = _thread_lock((url, connection_id, namespace, name))
        self._key = advisory_key(connection_id, namespace, name)
        path = sqlite_path(url)
        self._file = lock_dir(path) / f"{self._key & 0xFFFFFFFFFFFFFFFF:016x}.lock" if path is not None else None
        self._held: Any = None  # the PostgreSQL connection or the open lock file, while held

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for the lock (at most ``timeout`` seconds); ``False`` if it was not had in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._thread.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return False
        try:
            if self._acquire_shared(deadline):
                return True
        except BaseException:
            self._thread.release()
            raise
        self._thread.release()
        return False

    def release(self) -> None:
        held, self._held = self._held, None
        try:
            if held is not None and self.engine.dialect.name == "postgresql":
                try:
                    held.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                finally:
                    held.close()
            elif held is not None:
                held.close()  # closing the file drops its flock
        finally:
            self._thread.release()

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    # --- the other processes' half -------------------------------------------------------------------
    def _acquire_shared(self, deadline: float | None) -> bool:
        if self.engine.dialect.name == "postgresql":
            return self._acquire_advisory(deadline)
        if self._file is not None and fcntl is not None:
            return self._acquire_file(deadline)
        return True

    def _acquire_advisory(self, deadline: float | None) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if deadline is None:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._key})
                self._held = conn
                return True
            while True:
                if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar():
                    self._held = conn
                    return True
                if time.monotonic() >= deadline:
                    conn.close()
                    return False
                time.sleep(POLL_SECONDS)
        except BaseException:
            conn.close()
            raise

    def _acquire_file(self, deadline: float | None) -> bool:
        assert self._file is not None and fcntl is not None
        self._file.parent.mkdir(mode=0o700, exist_ok=True)
        fh = os.fdopen(os.open(self._file, os.O_RDWR | os.O_CREAT, 0o600), "r+b")  # kept open while held
        try:
            if deadline is None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                self._held = fh
                return True
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        fh.close()
                        return False
                    time.sleep(POLL_SECONDS)
                    continue
                self._held = fh
                return True
        except BaseException:
            fh.close()
            raise


def lock_dir(database_file: Path) -> Path:
    """Where the lock files of a SQLite database live (beside it)."""
    return database_file.parent / f"{database_file.name}.locks"
