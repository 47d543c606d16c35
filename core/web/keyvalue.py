"""Small app-wide values in the ``key_value`` table (the console's password hash and cookie key)."""

from __future__ import annotations

from sqlmodel import select

from ..app import App
from ..storage.models import KeyValue
from ..storage.upsert import upsert


def get_value(app: App, key: str) -> str | None:
    with app.store.session() as s:
        row = s.exec(select(KeyValue).where(KeyValue.key == key)).first()
        return row.value if row else None


def set_value(app: App, key: str, value: str) -> None:
    with app.store.session() as s:
        upsert(s, KeyValue, {"key": key, "value": value}, conflict=["key"], update=["value"])
        s.commit()


def setdefault_value(app: App, key: str, value: str) -> str:
    """Store ``value`` unless the key exists; return what is stored (first writer wins)."""
    with app.store.session() as s:
        upsert(s, KeyValue, {"key": key, "value": value}, conflict=["key"], update=[])
        s.commit()
    stored = get_value(app, key)
    assert stored is not None
    return stored
