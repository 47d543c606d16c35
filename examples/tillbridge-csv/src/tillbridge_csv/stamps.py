"""File times that follow the content: a file saved again unchanged keeps its old time.

Rows without ``updated_at`` take their file's time, and the feed hands out every row newer than
its cursor. A spreadsheet or an export job that rewrites a file without changing it (every
night, say) would otherwise make all its rows look changed: each sync would read, convert and
fingerprint the whole file again. So the connector remembers, in the connection's durable state
(``ConnectorContext.state``, kept in tillbridge's database), a digest and a time per file; when the
digest is the same, the rows keep the time they had. A new connector instance, another process
or a restart sees the same times.

Two processes reading at once may both record a file; the later write wins, and the worst case is
a file read as changed once more (the fingerprints then skip its rows).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from tillbridge import ConnectionState

#: The state key: ``{file name: {"sha256": digest, "modified": ISO time}}``.
KEY = "file_times"


class FileTimes:
    """The ``stamp`` of a :class:`~tillbridge_csv.folder.DropFolder`, backed by a ``ConnectionState``.

    Load before a read (:meth:`load`), save after it (:meth:`save`): one query each, however many
    files were read. With no state (a bare credentials check) every file has its modification time.
    """

    def __init__(self, state: ConnectionState | None) -> None:
        self.state = state
        self.known: dict[str, dict[str, Any]] = {}
        self.changed = False

    def load(self) -> None:
        self.known = dict(self.state.get(KEY, {})) if self.state is not None else {}
        self.changed = False

    def __call__(self, name: str, content: bytes, mtime: datetime) -> datetime:
        if self.state is None:
            return mtime
        digest = hashlib.sha256(content).hexdigest()
        entry = self.known.get(name)
        if entry is not None and entry.get("sha256") == digest:
            return datetime.fromisoformat(entry["modified"])
        self.known[name] = {"sha256": digest, "modified": mtime.isoformat()}
        self.changed = True
        return mtime

    def forget(self, prefix: str, seen: set[str]) -> None:
        """Drop the files under ``prefix`` that a full listing no longer showed (removed sales)."""
        gone = [n for n in self.known if n.startswith(prefix) and n not in seen]
        for name in gone:
            del self.known[name]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        if self.state is not None and self.changed:
            self.state.set(KEY, self.known)
            self.changed = False


__all__ = ["KEY", "FileTimes"]
