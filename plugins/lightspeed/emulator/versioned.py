"""A collection of records kept in ascending ``version`` order, for the 2.0 version cursor.

Lightspeed's API 2.0 pages by ``after``/``before`` on a store-wide, monotonically increasing
``version`` (https://x-series-api.lightspeedhq.com/docs/pagination). Versions are only ever handed out in
increasing order, so a write appends to the end; two parallel lists let ``bisect`` find a page.
A record written again leaves its old slot behind, stale (its version is no longer the record's),
rather than being cut out of the lists: cutting moved every later slot, which made each write
cost as much as the collection is long (20 inventory writes per product at 2,000,000 records).
Stale slots are skipped, and swept out once they are as many as the live ones.
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
        self._stale = 0  # slots of records written again since

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
        if record_id in self._by_id:
            self._stale += 1  # its old slot stays behind, skipped from now on
        record["version"] = version
        self._by_id[record_id] = record
        self._versions.append(version)
        self._ids.append(record_id)
        if self._stale > len(self._by_id):
            self._sweep()

    def _live(self, i: int) -> Record | None:
        """The record of slot ``i``, or ``None`` when the record has been written again since."""
        record = self._by_id.get(self._ids[i])
        return record if record is not None and record["version"] == self._versions[i] else None

    def _sweep(self) -> None:
        live = [i for i in range(len(self._ids)) if self._live(i) is not None]
        self._versions = [self._versions[i] for i in live]
        self._ids = [self._ids[i] for i in live]
        self._stale = 0

    def page(self, after: int, before: int | None, limit: int, include_deleted: bool) -> list[Record]:
        """Records with ``after < version < before``, ascending, at most ``limit`` of them."""
        start = bisect_right(self._versions, after)
        stop = len(self._versions) if before is None else bisect_left(self._versions, before)
        out: list[Record] = []
        for i in range(start, stop):
            record = self._live(i)
            if record is None:
                continue
            if not include_deleted and record.get("deleted_at") is not None:
                continue
            out.append(record)
            if len(out) >= limit:
                break
        return out

    def values(self) -> Iterator[Record]:
        """All records in version order."""
        for i in range(len(self._ids)):
            record = self._live(i)
            if record is not None:
                yield record

    def max_version(self) -> int:
        return self._versions[-1] if self._versions else 0

    def clear(self) -> None:
        self._by_id.clear()
        self._versions.clear()
        self._ids.clear()
        self._stale = 0
