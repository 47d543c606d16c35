"""How an accounting connector reaches the database of the connection it serves.

Exactly-once sending needs durable state written *during* a push (the outbox row is committed
before the provider is called, and again as soon as it answered), and "disabling stops sending
at once" needs the switch read fresh from the database, not from a settings snapshot. The core
hands a connector a :class:`~tillbridge.ConnectorContext` without the store, so:

1. ``context.extras["store"]`` and ``context.extras["connection_id"]`` are used when present —
   the place the core should fill (one line in ``ConnectionRuntime._build``);
2. otherwise the store is taken from the ``save_credentials`` callback the runtime builds, a
   closure over ``store`` and ``conn_id``. That is an implementation detail of the core, read
   defensively: when it is not there, the connector says so instead of sending without an outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tillbridge import ConfigError, ConnectorContext
from tillbridge.storage.store import Store


@dataclass(frozen=True)
class StoreLink:
    store: Store
    connection_id: int


def _closure_values(function: Any) -> dict[str, Any]:
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None) or ()
    if code is None:
        return {}
    values: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, cells):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return values


def find_link(context: ConnectorContext) -> StoreLink | None:
    """The store and connection id behind ``context``, or ``None`` (e.g. a credentials check)."""
    store, connection_id = context.extras.get("store"), context.extras.get("connection_id")
    if isinstance(store, Store) and isinstance(connection_id, int):
        return StoreLink(store, connection_id)
    values = _closure_values(context.save_credentials)
    store, connection_id = values.get("store"), values.get("conn_id")
    if isinstance(store, Store) and isinstance(connection_id, int):
        return StoreLink(store, connection_id)
    return None


def require_link(context: ConnectorContext) -> StoreLink:
    link = find_link(context)
    if link is None:
        raise ConfigError(
            f"the {context.system} connector of {context.connection!r} has no database to keep its outbox in",
            fix="run it through a tillbridge app (sync, daemon or `tillbridge accounting send`), or put "
                "'store' and 'connection_id' in ConnectorContext.extras",
        )
    return link


def attach(context: ConnectorContext, store: Store, connection_id: int) -> None:
    """Give a context its store explicitly (the services do this for the connectors they use)."""
    context.extras["store"] = store
    context.extras["connection_id"] = connection_id
