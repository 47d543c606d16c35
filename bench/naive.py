"""The naive baseline: the same flows as a hand-written script would run them.

A script without change detection re-reads every collection from the start and writes every
record on every run, one call per record: every stock level (product × outlet) is its own
``PUT``, every sale is posted again (the deterministic Guid keeps Unleashed from duplicating it).
It is built from tillbridge's own connectors, with what makes the engine frugal switched off:

* before each run, the cursors are forgotten and the fingerprints of what was written blanked,
  so nothing is "unchanged" and nothing is an echo; sale bindings are dropped, so every sale is
  sent again;
* a ``push_entities`` hook sends stock levels one by one.

The id mapping (bindings) is kept, so the baseline is not charged for looking ids up by code as
a real script would have to: it is a generous baseline.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import delete, update

from tillbridge import hookimpl
from tillbridge.connector import Connector, Outgoing, PushResult
from tillbridge.storage.models import Binding, Cursor

from shop import CONNECTION, Shop


class OneCallPerRecord:
    """Plugin: stock levels pushed one per request (a script setting each outlet's level)."""

    @hookimpl(tryfirst=True)
    def push_entities(self, connector: Connector, entity_type: str,
                      records: Sequence[Outgoing]) -> list[PushResult] | None:
        if entity_type != "stock":
            return None
        results: list[PushResult] = []
        for record in records:
            results.extend(connector.push(entity_type, [record]))
        return results


def forget_changes(shop: Shop) -> None:
    """No change detection for the next run: no cursors, no fingerprints, no sale bindings."""
    store = shop.app.store
    conn_id = shop.app.runtime(CONNECTION).id
    with store.session() as s:
        s.exec(delete(Cursor).where(Cursor.connection_id == conn_id))  # type: ignore[call-overload]
        s.exec(update(Binding).where(Binding.connection_id == conn_id).values(fingerprint=None))  # type: ignore[call-overload]
        s.exec(delete(Binding).where(Binding.connection_id == conn_id,  # type: ignore[call-overload]
                                     Binding.entity_type == "sale"))
        s.commit()


def install(shop: Shop) -> Any:
    plugin = OneCallPerRecord()
    shop.app.plugins.register(plugin, name="bench.naive", source="bench")
    return plugin
