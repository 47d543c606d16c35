"""What an administrator can do, once: the CLI and the web console both call these.

No logic lives in the CLI or the console beyond parsing input and showing results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence

import httpx
from sqlalchemy import delete, or_, update
from sqlmodel import col

from .app import App, ConnectionRuntime
from .entities import Location
from .errors import ConfigError, SettingError, TillbridgeError, UnknownConnection
from .flows import Flow, order_flows
from .runner import FlowRunner, ProgressCallback, RunResult
from .settings import SettingSpec
from .storage.models import Binding, Connection, KnownLocation, LogEntry
from .wiring import wire_connector


def parse_date(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO timestamp; a clear error otherwise."""
    raw = text.strip()
    try:
        if len(raw) == 10 and raw[4:5] == "-":
            return datetime.combine(date.fromisoformat(raw), time(0), tzinfo=timezone.utc)
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a date", fix="use YYYY-MM-DD, e.g. 2026-01-31") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


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


# --- settings ------------------------------------------------------------------------------------
@dataclass
class SettingsChange:
    """What ``set_settings`` saved, and what it could not check (the remote was unreachable)."""

    values: dict[str, Any]
    notes: list[str] = field(default_factory=list)


#: Settings that change every published stock level.
RESTART_STOCK = ("export_stock", "include_assembled")


def set_settings(app: App, name: str, raw: Mapping[str, Any]) -> SettingsChange:
    """Validate and save settings of a connection (the CLI and the console both come here).

    On top of the typed checks of the setting specs, a setting with a ``check`` is verified
    against the system of its ``role`` (e.g. that a named group exists there) and saved as the
    check normalised it. When that system cannot be reached the value is saved and the change
    says it was not checked.
    """
    conn = app.store.connection(name)
    registry = app.registries.settings
    parsed = {key: registry.spec(key).parse(value) for key, value in raw.items()}
    change = SettingsChange(values={})
    wanted = {key: value for key, value in parsed.items() if registry.spec(key).check is not None and value}
    if wanted:
        normalised = _check_remotely(app, name, {key: (registry.spec(key), value) for key, value in wanted.items()},
                                     change.notes)
        raw = {**raw, **normalised}
    before = app.settings(conn)
    change.values = app.set_settings(conn, dict(raw))
    if any(before.get(key) != change.values.get(key) for key in RESTART_STOCK):
        # What is published changed for every level, not only for the ones modified since the
        # last export: read them all again (unchanged levels are still not sent).
        for flow in app.flows().values():
            if flow.entity_type == "stock":
                app.store.reset_cursor(conn.id or 0, flow.name)
    if before.get("product_master") != change.values.get("product_master"):
        _forget_written_content(app, conn.id or 0, "product")
    return change


def _forget_written_content(app: App, connection_id: int, entity_type: str) -> None:
    """A new master: what was "already in step" under the old one is not any more (an edit the
    old master's side kept out was recorded as seen). Each record is compared afresh once."""
    with app.store.session() as s:
        s.exec(update(Binding).where(col(Binding.connection_id) == connection_id,
                                     col(Binding.entity_type) == entity_type).values(fingerprint=None,
                                                                                target_fingerprint=None))
        s.commit()


def _check_remotely(app: App, name: str, wanted: dict[str, tuple[SettingSpec, Any]],
                    notes: list[str]) -> dict[str, Any]:
    """Each setting's ``check`` with one quick connector per role; ``{name: normalised value}``."""
    rt = app.runtime(name)
    out: dict[str, Any] = {}
    for role in sorted({spec.role or "" for spec, _value in wanted.values()}):
        if not rt.has_role(role):
            notes.append(f"not checked against the {role} system: the connection has none yet")
            continue
        connector = _probe_connector(app, rt, role)
        try:
            for key, (spec, value) in wanted.items():
                if spec.role == role and spec.check is not None:
                    out[key] = spec.check(connector, value)
        except SettingError:
            raise
        except (TillbridgeError, httpx.HTTPError) as exc:
            reason = exc.message if isinstance(exc, TillbridgeError) else type(exc).__name__
            notes.append(f"saved without checking it against {connector.system}: {reason}")
            out = {key: v for key, v in out.items() if wanted[key][0].role != role}
        finally:
            connector.http.close()
    return out


def _probe_connector(app: App, rt: ConnectionRuntime, role: str) -> Any:
    """A connector for one quick look (one attempt, short timeout): a settings check must not
    keep the user waiting through the sync's retries when the remote is down."""
    return rt.build_connector(role, attempts=1, timeout=10.0)


def read_all(app: App, connector: Any, entity_type: str) -> list[Any]:
    """Every record of ``entity_type`` the connector's system holds (short lists: taxes, groups)."""
    records: list[Any] = []
    cursor = None
    while True:
        page = app.plugins.fetch_entities(connector, entity_type, cursor, None)
        records.extend(page.records)
        cursor = page.cursor
        if not page.more:
            return records


# --- the connection log ---------------------------------------------------------------------------
def prune_log(app: App, name: str, *, days: int | None = None) -> int:
    """Delete log lines older than ``log_retention_days`` (or ``days``); returns how many.

    Open failures and held records are kept whatever their age: they are what ``reimport``
    retries, and dropping them would silently lose a sale that waits for a mapping.
    """
    rt = app.runtime(name)
    keep_days = int(days if days is not None else rt.settings.get("log_retention_days") or 90)
    if keep_days < 1:
        raise SettingError(f"a log must keep at least one day, not {keep_days}")
    cutoff = datetime.now(timezone.utc) - timedelta(days=keep_days)
    still_open = col(LogEntry.resolved_at).is_(None) & col(LogEntry.category).in_(("failed", "held"))
    with app.store.session() as s:
        result = s.exec(delete(LogEntry).where(
            col(LogEntry.connection_id) == rt.id, col(LogEntry.created_at) < cutoff,
            or_(~still_open, col(LogEntry.category).is_(None))))
        s.commit()
        return int(result.rowcount or 0)


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


# --- running flows -------------------------------------------------------------------------------
def ordered_flows(app: App) -> list[Flow]:
    """The flows in dependency order: each after the flows its ``after`` names."""
    return order_flows(app.flows().values())


def sync_once(app: App, name: str, *, only: Sequence[str] | None = None,
              progress: ProgressCallback | None = None) -> list[RunResult]:
    """Run every enabled flow of a connection once, in dependency order."""
    rt = app.runtime(name)
    for ref in rt.systems.values():  # credentials the key cannot read: said once, before any flow runs
        app.store.credentials(rt.id, ref.system)
    runner = FlowRunner(app, rt, progress=progress)
    results = []
    for flow in ordered_flows(app):
        if only and flow.name not in only:
            continue
        if runner.enabled(flow):
            results.append(runner.run(flow))
    prune_log(app, name)  # retention (log_retention_days) is kept by every sync
    return results


NOUNS = {"sale": "orders", "stock": "stock levels", "product": "products", "customer": "customers",
         "invoice": "invoices"}


def describe(app: App, name: str, result: RunResult) -> str:
    """One plain sentence saying what a flow run did, for summaries (CLI, demo, console)."""
    flow = app.flows().get(result.flow)
    rt = app.runtime(name)
    source = (rt.system_of(flow.source_role) if flow else None) or "the source"
    target = (rt.system_of(flow.target_role) if flow else None) or "the target"
    noun = NOUNS.get(flow.entity_type if flow else "", "records")
    read = {"sale": "sales", "stock": "stock levels"}.get(flow.entity_type if flow else "", noun)
    parts = [f"read {result.fetched} {read} from {source}"]
    if result.created:
        parts.append(f"created {result.created} {noun} in {target}")
    if result.updated:
        parts.append(f"{'set' if noun == 'stock levels' else 'updated'} {result.updated} {noun} in {target}")
    if result.unchanged:
        parts.append(f"{result.unchanged} already up to date")
    if result.skipped:
        parts.append(f"{result.skipped} skipped")
    if result.warned:
        parts.append(f"{result.warned} written with a warning")
    if result.held:
        parts.append(f"{result.held} held until the cause is fixed")
    if result.failed:
        parts.append(f"{result.failed} refused")
    if result.summary:
        parts.append(result.summary)
    text = f"{result.flow}: " + ", ".join(parts)
    if result.status != "ok":
        text += f" — {result.status}: {result.error}"
    return text


def flow_for_import(app: App, entity: str) -> Flow:
    """The always-on flow that imports ``entity`` into the inventory system."""
    for flow in app.flows().values():
        if flow.entity_type == entity and flow.switch is None and flow.target_role == "inventory":
            return flow
    raise ConfigError(f"nothing imports {entity!r}", fix="choose products, customers or sales")


def import_since(app: App, name: str, entity: str, since: datetime,
                 progress: ProgressCallback | None = None) -> RunResult:
    """"Manage your data": re-sync ``entity`` from ``since``, writing again what the target holds
    (so it repairs edits made there); sales are found through the POS's search and a sale
    already imported is never posted again."""
    flow = flow_for_import(app, entity)
    rt = app.runtime(name)
    return FlowRunner(app, rt, progress=progress).run(flow, since=since, trigger="import", force=True)


def export_products(app: App, name: str, progress: ProgressCallback | None = None) -> RunResult:
    flow = app.flows()["export_products"]
    rt = app.runtime(name)
    return FlowRunner(app, rt, progress=progress).run(flow, trigger="export")


def reimport(app: App, name: str, *, entity: str | None = None, since: datetime | None = None,
             record: str | None = None) -> list[RunResult]:
    """Retry what failed or was held: fetch each record anew from its source and push it."""
    rt = app.runtime(name)
    entries = app.store.log_entries(rt.id, entity_type=entity, since=since, open_only=True, record=record,
                                    limit=10_000)
    if record and not entries:
        raise ConfigError(f"no open failure for record {record!r}", fix="see `tillbridge log --level error`")
    by_flow: dict[str, list[LogEntry]] = {}
    for entry in entries:
        if entry.flow and entry.source_id:
            by_flow.setdefault(entry.flow, []).append(entry)
    results = []
    runner = FlowRunner(app, rt)
    for flow_name in [f.name for f in ordered_flows(app) if f.name in by_flow]:
        flow = app.flows()[flow_name]
        source = rt.connector(flow.source_role)
        records = []
        for entry in by_flow[flow_name]:
            try:
                fresh = source.get(flow.entity_type, entry.source_id or "")
            except TillbridgeError as exc:
                app.store.write_log(rt.id, "error", f"re-import could not read {entry.record_key}: {exc.message}",
                                    flow=flow_name, entity_type=flow.entity_type, record_key=entry.record_key,
                                    source_id=entry.source_id, fix=exc.fix, category="failed")
                continue
            if fresh is not None:
                records.append(fresh)
        if records:
            results.append(runner.run_records(flow, records))
    return results


ProgressFactory = Callable[[str], ProgressCallback]
