"""The provider's API budget as last seen, kept so `accounting status` can show it without a call.

Stored in the core's small key/value table under ``accounting.budget.<connection id>.<system>``.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import select

from tillbridge.storage.models import KeyValue
from tillbridge.storage.store import Store
from tillbridge.storage.upsert import upsert

from .provider import Budget


def _key(connection_id: int, system: str) -> str:
    return f"accounting.budget.{connection_id}.{system}"


def remember(store: Store, connection_id: int, system: str, budget: Budget) -> None:
    if budget.seen_at is None:
        return
    value = json.dumps({"day_remaining": budget.day_remaining, "minute_remaining": budget.minute_remaining,
                        "day_limit": budget.day_limit, "seen_at": budget.seen_at.isoformat(), "note": budget.note})
    with store.session() as s:
        upsert(s, KeyValue, {"key": _key(connection_id, system), "value": value}, conflict=["key"], update=["value"])
        s.commit()


def recall(store: Store, connection_id: int, system: str) -> Budget | None:
    with store.session() as s:
        row = s.exec(select(KeyValue).where(KeyValue.key == _key(connection_id, system))).first()
    if row is None:
        return None
    data = json.loads(row.value)
    return Budget(day_remaining=data.get("day_remaining"), minute_remaining=data.get("minute_remaining"),
                  day_limit=data.get("day_limit"), seen_at=datetime.fromisoformat(data["seen_at"]),
                  note=data.get("note") or "")
