"""The provider's API budget as last seen, kept so `accounting status` can show it without a call.

Stored in the connector's :class:`tillbridge.ConnectionState` (namespace: its system) as ``budget``.
"""

from __future__ import annotations

from datetime import datetime

from tillbridge import ConnectionState

from .provider import Budget

KEY = "budget"


def remember(state: ConnectionState, budget: Budget) -> None:
    if budget.seen_at is None:
        return
    state.set(KEY, {"day_remaining": budget.day_remaining, "minute_remaining": budget.minute_remaining,
                    "day_limit": budget.day_limit, "seen_at": budget.seen_at.isoformat(), "note": budget.note})


def recall(state: ConnectionState) -> Budget | None:
    data = state.get(KEY)
    if not isinstance(data, dict):
        return None
    return Budget(day_remaining=data.get("day_remaining"), minute_remaining=data.get("minute_remaining"),
                  day_limit=data.get("day_limit"), seen_at=datetime.fromisoformat(data["seen_at"]),
                  note=data.get("note") or "")
