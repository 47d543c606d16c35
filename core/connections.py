"""Connections and where they sync: systems per role, credentials (checked before they are
saved) and the outlet → warehouse mapping. The CLI and the console both call these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .app import App, ConnectionRuntime
from .entities import Location
from .errors import ConfigError, UnknownConnection
from .storage.models import Connection, KnownLocation
from .wiring import wire_connector


# --- connections ---------------------------------------------------------------------------------
def add_connection(app: App, name: str, systems: dict[str, tuple[str, str | None]]) -> Connection:
    """Create a connection; ``systems`` maps role → (system, base URL or None for the default)."""
    for role, (system, _url) in systems.items():
        cls = app.connector_class(system)
        if role not in cls.roles:
            raise ConfigError(f"{system} cannot be the {role} system (it can be: {', '.join(sorted(cls.roles))})")
    return app.store.create_connection(name, {role: (system, url or app.connector_class(system).default_base_url)
                                              for role, (system, url) in systems.items()})


def set_system(app: App, name: str, role: str, system: str, base_url: str | None) -> None:
    conn = app.store.connection(name)
    cls = app.connector_class(system)
    if role not in cls.roles:
        raise ConfigError(f"{system} cannot be the {role} system (it can be: {', '.join(sorted(cls.roles))})")
    app.store.set_system(conn.id or 0, role, system, base_url or cls.default_base_url)
    app.forget_runtime(name)


def save_credentials(app: App, name: str, system: str, values: dict[str, Any], *, check: bool = True) -> str:
    """Store credentials for a system of a connection, after one call that proves they work."""
    conn = app.store.connection(name)
    refs = {r.system: r for r in app.store.systems(conn.id or 0).values()}
    if system not in refs:
        raise ConfigError(f"connection {name!r} has no {system} system",
                          fix=f"add it: `tillbridge connections add {name} --{system} ...`")
    cls = app.connector_class(system)
    missing = [f.name for f in cls.credential_fields if f.required and not values.get(f.name)]
    if missing:
        raise ConfigError(f"{system} needs {', '.join(missing)}")
    description = "saved without a check"
    if check:
        description = check_credentials(app, name, system, refs[system].base_url, values)
    app.store.save_credentials(conn.id or 0, system, values)
    app.forget_runtime(name)
    return description


def check_credentials(app: App, name: str, system: str, base_url: str, values: dict[str, Any]) -> str:
    """One cheap call with ``values`` before they are saved; refreshed tokens land in ``values``.

    The connector is built as a sync builds it (settings, mapped locations, peers), except that
    it has no ``state``: these credentials are not the connection's yet, so a connector must
    not bind its token refresh to the stored ones.
    """
    cls = app.connector_class(system)
    try:
        rt: ConnectionRuntime | None = app.runtime(name)
    except UnknownConnection:
        rt = None  # connecting a system is how a connection starts
    role = next((r for r, ref in rt.systems.items() if ref.system == system), None) if rt else None
    scratch = dict(values)
    transport = app.transport_factory(system, base_url) if app.transport_factory else None
    connector = wire_connector(
        cls, connection=name, system=system, base_url=base_url, credentials=scratch,
        settings=rt.settings if rt else {}, peers=rt.peer_names() if rt else None,
        mapped_locations=rt.mapped_locations(role) if rt and role else None,
        http_options={"attempts": 2, "transport": transport},
    )
    try:
        description = connector.check()
    finally:
        connector.http.close()
    values.update(scratch)  # keep refreshed tokens
    return description


# --- locations -----------------------------------------------------------------------------------
@dataclass
class LocationCounts:
    outlets: int
    warehouses: int


def reload_locations(app: App, name: str) -> LocationCounts:
    """"Reload outlets": fetch outlets and warehouses and remember them."""
    rt = app.runtime(name)
    counts = {}
    for role, kind in (("pos", "outlet"), ("inventory", "warehouse")):
        if not rt.has_role(role):
            counts[kind] = 0
            continue
        connector = rt.connector(role)
        locations: list[Location] = connector.locations()
        counts[kind] = app.store.replace_known_locations(
            rt.id, connector.system, kind, [(loc.id, loc.name, loc.code) for loc in locations])
    return LocationCounts(outlets=counts["outlet"], warehouses=counts["warehouse"])


def find_location(app: App, rt: ConnectionRuntime, kind: str, text: str) -> KnownLocation:
    """Find an outlet or warehouse by id, code or name (case-insensitive)."""
    known = app.store.known_locations(rt.id, kind)
    if not known:
        raise ConfigError(f"no {kind}s are loaded for {rt.name!r}",
                          fix=f"run `tillbridge outlets reload --connection {rt.name}` first")
    wanted = text.strip().lower()
    for loc in known:
        if wanted in {loc.location_id.lower(), (loc.code or "").lower(), loc.name.lower()}:
            return loc
    names = ", ".join(f"{loc.name} ({loc.code or loc.location_id})" for loc in known)
    raise ConfigError(f"there is no {kind} {text!r}", fix=f"known {kind}s: {names}")


def map_outlet(app: App, name: str, outlet: str, warehouse: str) -> tuple[KnownLocation, KnownLocation]:
    rt = app.runtime(name)
    o = find_location(app, rt, "outlet", outlet)
    w = find_location(app, rt, "warehouse", warehouse)
    app.store.map_location(rt.id, o.location_id, w.location_id)
    return o, w


def unmap_outlet(app: App, name: str, outlet: str) -> KnownLocation:
    rt = app.runtime(name)
    o = find_location(app, rt, "outlet", outlet)
    if not app.store.unmap_location(rt.id, o.location_id):
        raise ConfigError(f"outlet {o.name!r} is not mapped")
    return o


def mappings(app: App, name: str) -> list[tuple[KnownLocation | None, KnownLocation | None, str, str]]:
    rt = app.runtime(name)
    known = {loc.location_id: loc for loc in app.store.known_locations(rt.id)}
    return [(known.get(o), known.get(w), o, w) for o, w in sorted(app.store.location_map(rt.id).items())]
