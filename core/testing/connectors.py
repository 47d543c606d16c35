"""Build a connector outside a connection, and read a feed to its end.

``build_connector`` gives the connector what the engine would (the configured HTTP client with
retries, pacing and the connector's own auth) but lets a test record the waits instead of
sleeping them, so a burst of 429 answers costs no wall-clock time and the test can see that
``Retry-After`` was honoured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..connector import Connector, Page
from ..entities import Entity
from ..state import ConnectionState
from ..wiring import wire_connector


def build_connector(
    cls: type[Connector],
    base_url: str,
    credentials: Mapping[str, Any],
    *,
    connection: str = "test",
    settings: Mapping[str, Any] | None = None,
    page_size: int | None = None,
    mapped_locations: Callable[[], set[str]] | None = None,
    extras: Mapping[str, Any] | None = None,
    state: ConnectionState | None = None,
    peers: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] | None = None,
    attempts: int = 5,
) -> Connector:
    """A connector instance wired like the engine wires one, on its own HTTP client.

    :param extras: ``ConnectorContext.extras`` (the app's own extras, if any).
    :param state: ``ConnectorContext.state``, for a connector that keeps durable state (a
        ``ConnectionState`` of a ``temporary_app``'s connection, e.g. ``Admin(app).state(...)``).
    :param peers: ``ConnectorContext.peers`` (role → the other systems' names).
    :param sleep: called instead of ``time.sleep`` for retry and pacing waits (``None``: sleep).
    :param attempts: tries per request before the last answer is handed to the connector.
    """
    options: dict[str, Any] = {"attempts": attempts, **({"sleep": sleep} if sleep is not None else {})}
    return wire_connector(cls, connection=connection, base_url=base_url, credentials=dict(credentials),
                          settings=dict(settings or {}), page_size=page_size, mapped_locations=mapped_locations,
                          extras=extras, state=state, peers=peers, http_options=options)


def close_connector(connector: Connector) -> None:
    try:
        connector.close()
    finally:
        connector.http.close()


@dataclass
class FeedRead:
    """Everything one read of a feed returned, page by page."""

    records: list[Entity] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    finished: bool = False

    @property
    def ids(self) -> set[str]:
        return {r.id for r in self.records}

    @property
    def cursor(self) -> str | None:
        return self.pages[-1].cursor if self.pages else None


def read_feed(fetch: Callable[[str | None], Page], cursor: str | None = None, *, max_pages: int = 1000) -> FeedRead:
    """Call ``fetch(cursor)`` until a page says ``more=False`` (or ``max_pages`` pages were read).

    ``finished`` tells which of the two happened; a feed that never finishes is a bug.
    """
    read = FeedRead()
    for _ in range(max_pages):
        page = fetch(cursor)
        read.pages.append(page)
        read.records.extend(page.records)
        cursor = page.cursor
        if not page.more:
            read.finished = True
            break
    return read


__all__ = ["FeedRead", "build_connector", "close_connector", "read_feed"]
