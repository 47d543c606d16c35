"""How an accounting connector reaches the durable state of the connection it serves.

Exactly-once sending needs durable state written *during* a push (the outbox row is committed
before the provider is called, and again as soon as it answered), and "disabling stops sending
at once" needs the switch read fresh from the database, not from a settings snapshot. Both come
from ``ConnectorContext.state`` (a :class:`tillbridge.ConnectionState`), which the core sets for
the connectors of a connection; a context built elsewhere (a bare credentials check) has none,
and the connector then says so instead of sending without an outbox.
"""

from __future__ import annotations

from tillbridge import ConfigError, ConnectionState, ConnectorContext


def find_link(context: ConnectorContext) -> ConnectionState | None:
    """The connection state behind ``context``, or ``None`` (e.g. a credentials check)."""
    return context.state


def require_link(context: ConnectorContext) -> ConnectionState:
    state = find_link(context)
    if state is None:
        raise ConfigError(
            f"the {context.system} connector of {context.connection!r} has no database to keep its outbox in",
            fix="run it through a tillbridge app (sync, daemon or `tillbridge accounting send`), or give its "
                "ConnectorContext a state (tillbridge.ConnectionState)",
        )
    return state


def attach(context: ConnectorContext, state: ConnectionState) -> None:
    """Give a context a state when it has none (the services do this for the connectors they use)."""
    if context.state is None:
        context.state = state
