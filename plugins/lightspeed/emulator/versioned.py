"""A collection of records kept in ascending ``version`` order, for the 2.0 version cursor.

Lightspeed's API 2.0 pages by ``after``/``before`` on a store-wide, monotonically increasing
``version`` (shared/api-notes/lightspeed-xseries.md §4). Versions are only ever handed out in
increasing order, so a write appends to the end; two parallel lists let ``bisect`` find a page.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

Record = dict[str, Any]


class VersionedCollection:
    def __init__(self) -> None:
        self._by_id: dict[str, Record] = {}
        self._versions: list[int] = []
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._by_id

    def get(self, record_id: str) -> Record | None:
        return self._by_id.get(record_id)

    def put(self, record: Record, version: int) -> None:
        """Store (or re-store) ``record`` under a new version that is higher than any before."""
        if self._versions and version <= self._versions[-1]:
            raise ValueError("versions must increase")
        record_id = record["id"]
        old = self._by_id.get(record_id)
        if old is not None:
            at = bisect_left(self._versions, old["version"])
            # Versions are unique, so ``at`` is exactly this record's slot.
            del self._versions[at]
            del self._ids[at]
        record["version"] = version
        self._by_id[record_id] = record
        self._versions.append(version)
        self._ids.append(record_id)

    def page(self, after: int, before: int | None, limit: int, include_deleted: bool) -> list[Record]:
        """Records with ``after < version < before``, ascending, at most ``limit`` of them."""
        start = bisect_right(self._versions, after)
        stop = len(self._versions) if before is None else bisect_left(self._versions, before)
        out: list[Record] = []
        for i in range(start, stop):
            record = self._by_id[self._ids[i]]
            if not include_deleted and record.get("deleted_at") is not None:
                continue
            out.append(record)
            if len(out) >= limit:
                break
        return out

    def values(self) -> Iterator[Record]:
        """All records in version order."""
        for record_id in self._ids:
            yield self._by_id[record_id]

    def max_version(self) -> int:
        return self._versions[-1] if self._versions else 0

    def clear(self) -> None:
        self._by_id.clear()
        self._versions.clear()
        self._ids.clear()
