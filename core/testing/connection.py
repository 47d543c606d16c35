"""A connection between systems under test, synced through the engine's real flows.

What an end-to-end test of a plugin needs, without reaching into the app's internals::

    shop = ConnectionHarness(app, "shop", pos=csv_system, inventory=unleashed_system)
    shop.map_all()
    results = shop.sync("products", "sales")
    assert results["products"].created == 3
"""

from __future__ import annotations

from typing import Any

from .. import services
from ..app import App
from ..connector import Connector
from ..runner import RunResult
from ..storage.models import LogEntry
from .systems import SystemUnderTest


class ConnectionHarness:
    """Creates connection ``name`` with one system per role and stores their credentials."""

    def __init__(self, app: App, name: str = "shop", **roles: SystemUnderTest) -> None:
        self.app = app
        self.name = name
        self.systems = dict(roles)
        conn = services.add_connection(app, name, {role: (s.system, s.base_url) for role, s in roles.items()})
        self.id = conn.id or 0
        for system in roles.values():
            if system.credentials:
                app.store.save_credentials(self.id, system.system, dict(system.credentials))

    def sync(self, *flows: str) -> dict[str, RunResult]:
        """Run the named flows once (all enabled flows when none are named), in dependency order."""
        return {r.flow: r for r in services.sync_once(self.app, self.name, only=flows or None)}

    def settings(self, **values: Any) -> dict[str, Any]:
        """Validate and save settings (``export_stock=True``); returns the connection's full set."""
        return self.app.set_settings(self.app.store.connection(self.name), dict(values))

    def map_all(self) -> list[tuple[str, str]]:
        """Reload outlets and warehouses, then map them one-to-one in the order they come."""
        services.reload_locations(self.app, self.name)
        outlets = self.app.store.known_locations(self.id, "outlet")
        warehouses = self.app.store.known_locations(self.id, "warehouse")
        pairs = [(o.location_id, w.location_id) for o, w in zip(outlets, warehouses)]
        for outlet, warehouse in pairs:
            self.app.store.map_location(self.id, outlet, warehouse)
        self.app.forget_runtime(self.name)
        return pairs

    def map(self, outlet: str, warehouse: str) -> None:
        """Map one outlet to one warehouse, by id, code or name (as ``tillbridge map`` does)."""
        services.reload_locations(self.app, self.name)
        services.map_outlet(self.app, self.name, outlet, warehouse)

    def connector(self, role: str) -> Connector:
        """The live connector filling ``role`` (the one the flows use)."""
        return self.app.runtime(self.name).connector(role)

    def log(self, *, levels: tuple[str, ...] | None = None, open_only: bool = False) -> list[LogEntry]:
        """Connection log lines, newest first (``open_only``: failures and holds not yet resolved)."""
        return self.app.store.log_entries(self.id, levels=levels, open_only=open_only, limit=10_000)

    def bindings(self, entity_type: str | None = None) -> int:
        """How many records are bound between the systems (written at least once)."""
        return self.app.store.binding_count(self.id, entity_type)

    def reimport(self) -> list[RunResult]:
        """Retry what failed or was held (``tillbridge reimport``)."""
        return services.reimport(self.app, self.name)


__all__ = ["ConnectionHarness"]
