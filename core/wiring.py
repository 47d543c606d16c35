"""The one way a connector instance is built: a sync, a credentials check, a settings probe and
``tillbridge.testing.build_connector`` all come here, so a connector sees the same context
fields (extras, mapped locations, settings) whichever of them made it.

Only the HTTP options differ between them (a check tries twice, a probe once with a short
timeout, a sync reports its calls and shares the app-wide limits); those are passed through
to :func:`~tillbridge.http.build_client`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .connector import Connector, ConnectorContext
from .http import build_client

if TYPE_CHECKING:
    from .state import ConnectionState


def wire_connector(
    cls: type[Connector],
    *,
    connection: str,
    base_url: str,
    credentials: dict[str, Any],
    system: str | None = None,
    persist: Callable[[dict[str, Any]], None] | None = None,
    settings: Mapping[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    mapped_locations: Callable[[], set[str]] | None = None,
    page_size: int | None = None,
    state: ConnectionState | None = None,
    peers: Mapping[str, str] | None = None,
    http_options: Mapping[str, Any] | None = None,
) -> Connector:
    """A ``cls`` instance on its own HTTP client (the connector's auth, headers and pacing).

    :param credentials: the values the connector reads and its auth rotates, used in place (a
        refreshed token shows in this dict); callers pass a copy when they must not see that.
    :param persist: where rotated credentials go as well (the store), under one lock so two
        threads refreshing at once do not interleave; ``None``: only ``credentials`` changes.
    :param state: the connection's durable state (``ConnectorContext.state``); ``None`` for a
        bare credentials check.
    :param peers: role → the name of the connection's system in that role (``peer_name``).
    :param http_options: keyword arguments of ``build_client`` (attempts, timeout, transport,
        observer, backoff, shared_limit, sleep).
    """
    lock = threading.Lock()

    def save(values: dict[str, Any]) -> None:
        new = dict(values)  # ``values`` may be ``credentials`` itself: copy before clearing
        with lock:
            credentials.clear()
            credentials.update(new)
            if persist is not None:
                persist(new)

    http = build_client(base_url, auth=cls.make_auth(credentials, save), headers=dict(cls.default_headers),
                        rate_limit_headers=cls.rate_limit_headers, max_concurrency=cls.max_concurrency,
                        **dict(http_options or {}))
    context = ConnectorContext(
        connection=connection, system=system or cls.system, base_url=base_url, credentials=credentials,
        save_credentials=save, settings=settings if settings is not None else {}, http=http, page_size=page_size,
        mapped_locations=mapped_locations or set, extras=dict(extras or {}), state=state,
        peers=dict(peers or {}),
    )
    return cls(context)


__all__ = ["wire_connector"]
