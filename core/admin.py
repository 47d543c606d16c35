"""The administration API: what a plugin's ``connect`` and admin commands do with tillbridge.

A thin facade over the app (the work is in :mod:`tillbridge.services`, shared with the core's own
CLI and web console), so that a plugin never reaches into the app, its store or its runner::

    from tillbridge.admin import Admin

    admin = Admin.of(state.admin)        # in a command; or Admin.of(app) in a test
    description = admin.check_credentials("main", "acme", base_url, values)   # one call, nothing saved
    admin.ensure_system("main", "inventory", "acme", base_url)
    admin.save_credentials("main", "acme", values, check=False)                 # encrypted

Every method takes a connection *name* and raises :class:`~tillbridge.TillbridgeError`
subclasses with a fix (an unknown connection is :class:`~tillbridge.UnknownConnection`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from . import services
from .errors import ConfigError, UnknownConnection
from .runner import FlowRunner, RunResult
from .state import ConnectionState

#: ``YYYY-MM-DD`` (midnight UTC) or an ISO timestamp, as every ``--since`` option takes it.
parse_date = services.parse_date

if TYPE_CHECKING:
    from .app import App
    from .connector import Connector
    from .flows import Flow


@dataclass(frozen=True)
class SystemInfo:
    """One system of a connection: in which role, and where it is reached."""

    role: str
    system: str
    base_url: str


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as an administrator sees it: its name and its systems by role."""

    name: str
    systems: Mapping[str, SystemInfo] = field(default_factory=dict)

    def system_of(self, role: str) -> str | None:
        """The system in ``role`` (``"pos"``, ``"inventory"``, ``"accounting"``), or ``None``."""
        info = self.systems.get(role)
        return info.system if info else None

    def base_url_of(self, role: str, system: str | None = None) -> str | None:
        """The base URL of the system in ``role`` (only when it is ``system``, if given)."""
        info = self.systems.get(role)
        if info is None or (system is not None and info.system != system):
            return None
        return info.base_url

    def has_role(self, role: str) -> bool:
        return role in self.systems


class Admin:
    """Administration of one tillbridge installation (an app), by connection name."""

    def __init__(self, app: App) -> None:
        self._app = app

    @classmethod
    def of(cls, app_or_admin: Any) -> Admin:
        """``app_or_admin`` if it is an :class:`Admin`, else the admin of that app."""
        return app_or_admin if isinstance(app_or_admin, Admin) else cls(app_or_admin)

    def __repr__(self) -> str:
        return f"Admin({self._app!r})"

    # --- connections ----------------------------------------------------------------------------
    def connection_names(self) -> list[str]:
        return [c.name for c in self._app.store.connections()]

    def connection(self, name: str) -> ConnectionInfo:
        """The connection ``name`` (raises :class:`~tillbridge.UnknownConnection`)."""
        conn = self._app.store.connection(name)
        refs = self._app.store.systems(conn.id or 0)
        return ConnectionInfo(conn.name, {role: SystemInfo(role, r.system, r.base_url) for role, r in refs.items()})

    def find_connection(self, name: str) -> ConnectionInfo | None:
        """The connection ``name``, or ``None`` when there is none of that name."""
        try:
            return self.connection(name)
        except UnknownConnection:
            return None

    def add_connection(self, name: str, systems: Mapping[str, tuple[str, str | None]] | None = None) -> ConnectionInfo:
        """Create a connection; ``systems`` maps role → (system, base URL or None for its default)."""
        services.add_connection(self._app, name, dict(systems or {}))
        return self.connection(name)

    def ensure_connection(self, name: str) -> ConnectionInfo:
        """The connection ``name``, created without systems when it does not exist."""
        return self.find_connection(name) or self.add_connection(name)

    def set_system(self, name: str, role: str, system: str, base_url: str | None = None) -> None:
        """Put ``system`` in ``role`` of the connection (``base_url`` None: the system's default)."""
        services.set_system(self._app, name, role, system, base_url)

    def ensure_system(self, name: str, role: str, system: str, base_url: str | None = None) -> ConnectionInfo:
        """Create the connection if needed, and put ``system`` (at ``base_url``) in ``role``."""
        if self.find_connection(name) is None:
            self.add_connection(name, {role: (system, base_url)})
        else:
            self.set_system(name, role, system, base_url)
        return self.connection(name)

    # --- credentials ----------------------------------------------------------------------------
    def check_credentials(self, name: str, system: str, base_url: str, values: dict[str, Any]) -> str:
        """One call with ``values`` at ``base_url`` (the connector's ``check``); nothing is saved.

        Returns the connector's description of what it reached; tokens refreshed during the call
        are written back into ``values``. The connection need not exist yet.
        """
        return services.check_credentials(self._app, name, system, base_url, values)

    def save_credentials(self, name: str, system: str, values: dict[str, Any], *, check: bool = True) -> str:
        """Store ``system``'s credentials for the connection, encrypted; with ``check``, only after
        one call proves they work. The system must already be one of the connection's."""
        return services.save_credentials(self._app, name, system, values, check=check)

    def has_credentials(self, name: str, system: str) -> bool:
        conn = self._app.store.connection(name)
        return bool(self._app.store.credentials(conn.id or 0, system))

    # --- settings -------------------------------------------------------------------------------
    def settings(self, name: str) -> dict[str, Any]:
        """Every setting of the connection (defaults included), read now."""
        return self._app.settings(self._app.store.connection(name))

    def set_settings(self, name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Validate (each setting's spec and plugins' ``complete_settings``) and save; returns them all."""
        return self._app.set_settings(self._app.store.connection(name), dict(values))

    # --- connectors, flows ----------------------------------------------------------------------
    def connector_class(self, system: str) -> type[Connector]:
        return self._app.connector_class(system)

    def systems_for_role(self, role: str) -> list[str]:
        """The installed systems that can take ``role``."""
        return sorted(s for s, cls in self._app.registries.connectors.items() if role in cls.roles)

    def connector(self, name: str, role: str) -> Connector:
        """The connection's connector in ``role``, wired as the engine wires it (shared by this app;
        do not close it)."""
        return self._app.runtime(name).connector(role)

    def read_all(self, name: str, role: str, entity_type: str) -> list[Any]:
        """Every record of ``entity_type`` of the system in ``role`` (short lists: taxes, groups)."""
        return services.read_all(self._app, self.connector(name, role), entity_type)

    def flow(self, flow: str) -> Flow:
        flows = self._app.flows()
        if flow not in flows:
            raise ConfigError(f"there is no flow {flow!r}", fix="flows: " + ", ".join(sorted(flows)))
        return flows[flow]

    def run_flow(self, name: str, flow: str, *, since: datetime | None = None, trigger: str = "manual") -> RunResult:
        """Run a flow of the connection now, from its cursor or from ``since`` (the cursor moves on)."""
        return FlowRunner(self._app, self._app.runtime(name)).run(self.flow(flow), since=since, trigger=trigger)

    def set_cursor(self, name: str, flow: str, cursor: str | None) -> None:
        """Move a flow's cursor (``None``: the flow starts from the beginning next time)."""
        store = self._app.store
        conn_id = store.connection(name).id or 0
        with store.session() as s:
            store.set_cursor(s, conn_id, flow, cursor)
            s.commit()

    def cursor(self, name: str, flow: str) -> str | None:
        store = self._app.store
        return store.cursor(store.connection(name).id or 0, flow)

    def last_run(self, name: str, flow: str) -> tuple[str, datetime] | None:
        """``(status, started at)`` of the flow's latest run, or ``None``."""
        store = self._app.store
        run = store.last_runs(store.connection(name).id or 0).get(flow)
        return (run.status, run.started_at) if run else None

    def open_failures(self, name: str, *, flow: str | None = None, limit: int = 10_000) -> int:
        """How many failures of the connection's log (of ``flow``) are still open."""
        store = self._app.store
        return len(store.log_entries(store.connection(name).id or 0, flow=flow, open_only=True, limit=limit))

    # --- durable state --------------------------------------------------------------------------
    def state(self, name: str, namespace: str) -> ConnectionState:
        """A plugin's durable state for the connection (``namespace``: the plugin's or system's name;
        the connector of system X sees ``namespace=X`` as ``context.state``)."""
        conn = self._app.store.connection(name)
        return ConnectionState(self._app.store, conn.id or 0, conn.name, namespace)


__all__ = ["Admin", "ConnectionInfo", "RunResult", "SystemInfo", "parse_date"]
