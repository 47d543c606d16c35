"""The app object: one database, one plugin manager, the registries, connection runtimes.

Nothing here is a module-level singleton: tests build as many apps as they like.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import httpx

from .connector import Connector
from .crypto import SecretBox
from .errors import ConfigError, SettingError
from .events import SyncEvent
from .flows import Flow
from .http import AppRateLimit
from .plugins import Plugins, Registries
from .state import ConnectionState
from .storage.db import database_url, open_database
from .storage.models import Connection
from .storage.store import Store, SystemRef
from .wiring import wire_connector

TransportFactory = Callable[[str, str], httpx.BaseTransport | None]
#: ``(system, the connector's app-wide limits) -> a callable that blocks until a call may go``.
SharedLimiter = Callable[[str, tuple[AppRateLimit, ...]], Callable[[], None] | None]


class App:
    """Open (and migrate) the database, load plugins, hand out connection runtimes."""

    def __init__(
        self,
        database: str | None = None,
        *,
        plugins: Plugins | None = None,
        secret_key: bytes | None = None,
        transport_factory: TransportFactory | None = None,
        http_backoff: float = 0.5,
        create_database: bool = True,
    ) -> None:
        """:param create_database: make the SQLite file if it does not exist (the CLI allows that
            only for the default data directory, or when asked with ``--create-database``)."""
        self.database_url = database_url(database)
        self.engine = open_database(self.database_url, create=create_database)
        try:
            box = SecretBox(secret_key)
        except BaseException:
            self.engine.dispose()
            raise
        self.store = Store(self.engine, box)
        self.plugins = plugins if plugins is not None else Plugins()
        from .defaults import CoreDefaults

        self.plugins.register(CoreDefaults(self), name="tillbridge.defaults", source="core")
        self.transport_factory = transport_factory
        #: ``(system, limits) -> acquire`` for limits shared by every process (distributed mode).
        self.shared_limiter: SharedLimiter | None = None
        #: First backoff step (seconds) of HTTP retries on 5xx and transport errors.
        self.http_backoff = http_backoff
        self._runtimes: dict[str, ConnectionRuntime] = {}
        self._lock = threading.Lock()

    @property
    def registries(self) -> Registries:
        return self.plugins.registries

    def connector_class(self, system: str) -> type[Connector]:
        try:
            return self.registries.connectors[system]
        except KeyError:
            known = ", ".join(sorted(self.registries.connectors)) or "none"
            raise ConfigError(f"no connector for system {system!r} is installed (installed: {known})",
                              fix="install the plugin that provides it; see `tillbridge plugins`") from None

    def flows(self) -> dict[str, Flow]:
        return self.registries.flows

    def runtime(self, name: str) -> ConnectionRuntime:
        with self._lock:
            rt = self._runtimes.get(name)
            if rt is None:
                rt = ConnectionRuntime(self, self.store.connection(name))
                self._runtimes[name] = rt
            return rt

    def forget_runtime(self, name: str) -> None:
        with self._lock:
            rt = self._runtimes.pop(name, None)
        if rt is not None:
            rt.close()

    # --- settings ------------------------------------------------------------------------------
    def settings(self, connection: Connection) -> dict[str, Any]:
        return self.registries.settings.resolve(self.store.settings(connection.id or 0))

    def set_settings(self, connection: Connection, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate and save several settings at once; returns the new full set.

        Every settings write comes here; plugins complete the change first
        (``complete_settings``: e.g. accounting records when its switch turned on)."""
        registry = self.registries.settings
        parsed = {name: registry.spec(name).parse(value) for name, value in raw.items()}
        merged = self.settings(connection)
        extra = self.plugins.complete_settings(connection.name, dict(merged), dict(parsed))
        parsed.update({name: registry.spec(name).parse(value) for name, value in extra.items()})
        merged.update(parsed)
        registry.check(merged)
        self.store.set_settings(connection.id or 0, parsed)
        self.forget_runtime(connection.name)
        return merged

    def emit(self, event: SyncEvent) -> None:
        self.plugins.emit(event)

    def close(self) -> None:
        for name in list(self._runtimes):
            self.forget_runtime(name)
        self.engine.dispose()


class ConnectionRuntime:
    """A connection's live objects: its connectors (one HTTP client each), settings, map."""

    def __init__(self, app: App, connection: Connection) -> None:
        self.app = app
        self.connection = connection
        self.systems: dict[str, SystemRef] = app.store.systems(connection.id or 0)
        self.settings = app.settings(connection)
        self._connectors: dict[str, Connector] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.connection.name

    @property
    def id(self) -> int:
        return self.connection.id or 0

    def system_of(self, role: str) -> str | None:
        ref = self.systems.get(role)
        return ref.system if ref else None

    def has_role(self, role: str) -> bool:
        return role in self.systems

    def location_map(self) -> dict[str, str]:
        return self.app.store.location_map(self.id)

    def connector(self, role: str) -> Connector:
        with self._lock:
            if role in self._connectors:
                return self._connectors[role]
            connector = self.build_connector(role)
            self._connectors[role] = connector
            return connector

    def mapped_locations(self, role: str) -> Callable[[], set[str]]:
        """The ids of the ``role`` system's locations that are mapped (outlets or warehouses)."""
        def mapped() -> set[str]:
            mapping = self.location_map()
            return set(mapping) if role == "pos" else set(mapping.values())
        return mapped

    def build_connector(self, role: str, **http_options: Any) -> Connector:
        """A new connector for ``role``, not kept by the runtime (the caller closes its client).

        ``http_options`` override the sync's ``build_client`` options (a quick probe tries once).
        """
        ref = self.systems.get(role)
        if ref is None:
            raise ConfigError(
                f"connection {self.name!r} has no {role} system",
                fix=f"connect one, e.g. `tillbridge connect <system> --connection {self.name}`",
            )
        cls = self.app.connector_class(ref.system)
        store, conn_id, system = self.app.store, self.id, ref.system

        def observe(request: httpx.Request, response: httpx.Response | None, seconds: float) -> None:
            self.app.emit(SyncEvent(
                "api_call", self.name, system=system,
                detail={"status": response.status_code if response is not None else 0,
                        "method": request.method, "seconds": seconds,
                        "remaining": (response.headers.get((cls.rate_limit_headers.remaining))
                                      if response is not None and cls.rate_limit_headers else None)},
            ))

        transport = self.app.transport_factory(system, ref.base_url) if self.app.transport_factory else None
        shared = (self.app.shared_limiter(system, cls.app_rate_limits)
                  if self.app.shared_limiter is not None and cls.app_rate_limits else None)
        options: dict[str, Any] = {"observer": observe, "transport": transport, "backoff": self.app.http_backoff,
                                   "shared_limit": shared, **http_options}
        return wire_connector(
            cls, connection=self.name, system=system, base_url=ref.base_url,
            credentials=store.credentials(conn_id, system),
            persist=lambda values: store.save_credentials(conn_id, system, values),
            settings=self.settings, mapped_locations=self.mapped_locations(ref.role),
            # Durable state of the connector's own (the accounting outbox) goes through this.
            state=ConnectionState(store, conn_id, self.name, system), peers=self.peer_names(),
            http_options=options,
        )

    def peer_names(self) -> dict[str, str]:
        """Role → the name people call the system filling it (``short_title``, else ``title``)."""
        out = {}
        for role, ref in self.systems.items():
            known = self.app.registries.connectors.get(ref.system)
            out[role] = (known.short_title or known.title if known is not None else None) or ref.system
        return out

    def close(self) -> None:
        with self._lock:
            for connector in self._connectors.values():
                try:
                    connector.close()
                finally:
                    connector.http.close()
            self._connectors.clear()


__all__ = ["App", "ConnectionRuntime", "SettingError"]
