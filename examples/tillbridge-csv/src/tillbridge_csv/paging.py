"""Paging a feed of records read whole from files: ordered by (updated_at, id), resumable.

The cursor is the position of the last record handed out; the next page starts after it. A
record that changes gets a later ``updated_at`` and so comes round again; one that does not
never does. Ties in ``updated_at`` (every row of a file without the column) are broken by id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from tillbridge import Entity, JsonCursor, Page

from .convert import stamp


def position(record: Entity) -> tuple[str, str]:
    return (stamp(record.updated_at) if record.updated_at else "", record.id)


def page_after(records: Sequence[Entity], cursor: str | None, size: int, since: datetime | None = None) -> Page:
    """The ``size`` records after ``cursor`` (or after ``since``, for a re-import)."""
    state = JsonCursor.load(cursor, after=None)
    after = tuple(state["after"]) if state["after"] else None
    if since is not None:
        after = (stamp(since), "")
    remaining = sorted((r for r in records if after is None or position(r) > after), key=position)
    chunk = remaining[:size]
    last = position(chunk[-1]) if chunk else after
    return Page(records=chunk, cursor=JsonCursor.dump(after=list(last) if last else None),
                more=len(remaining) > size)


__all__ = ["page_after", "position"]
