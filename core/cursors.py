"""Cursor helpers: cursors are opaque strings to the engine, structured to their connector."""

from __future__ import annotations

import json
from typing import Any


class JsonCursor:
    """A cursor holding a small JSON object (e.g. ``{"since": "...", "page": 3}``)."""

    @staticmethod
    def load(cursor: str | None, **defaults: Any) -> dict[str, Any]:
        if not cursor:
            return dict(defaults)
        try:
            value = json.loads(cursor)
        except ValueError:
            return dict(defaults)
        return {**defaults, **value} if isinstance(value, dict) else dict(defaults)

    @staticmethod
    def dump(**values: Any) -> str:
        return json.dumps(values, sort_keys=True, separators=(",", ":"))


def version_cursor(cursor: str | None) -> int:
    """A monotonically increasing integer cursor (Lightspeed's ``version``); ``0`` when absent."""
    try:
        return int(cursor) if cursor else 0
    except ValueError:
        return 0
