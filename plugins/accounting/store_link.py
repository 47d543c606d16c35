"""How an accounting connector reaches the database of the connection it serves.

Exactly-once sending needs durable state written *during* a push (the outbox row is committed
before the provider is called, and again as soon as it answered), and "disabling stops sending
at once" needs the switch read fresh from the database, not from a settings snapshot. The core
puts the connection's store and id in ``ConnectorContext.extras`` (``"store"``,
``"connection_id"``); a context built elsewhere (a bare credentials check) has none, and the
connector then says so instead of sending without an outbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from tillbridge import ConfigError, ConnectorContext
from tillbridge.storage.store import Store


@dataclass(frozen=True)
class StoreLink:
    store: Store
    connection_id: int


def find_link(context: ConnectorContext) -> StoreLink | None:
    """The store and connection id behind ``context``, or ``None`` (e.g. a credentials check)."""
    store, connection_id = context.extras.get("store"), context.extras.get("connection_id")
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
