"""What the overview shows about a connection, read from the store (no remote calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..app import App
from ..connector import ROLES, Connector
from ..errors import TillbridgeError
from ..runner import FlowRunner
from ..services import ordered_flows
from ..storage.models import SyncRun
from sqlalchemy import func
from sqlmodel import select

ROLE_TITLES = {"pos": "Point of sale", "inventory": "Inventory", "accounting": "Accounting"}


@dataclass
class SystemStatus:
    role: str
    system: str | None
    title: str
    base_url: str | None
    connected: bool  # credentials are saved
    installable: bool  # the connector offers "Install app" (OAuth in the browser)


@dataclass
class FlowStatus:
    name: str
    description: str
    enabled: bool
    last_run: SyncRun | None
    last_success: datetime | None
    source_role: str = ""
    target_role: str = ""
    entity_type: str = ""
    moved_today: int = 0  # records created or updated since midnight UTC
    waiting: int = 0  # records failed or held, not resolved yet

    @property
    def lag(self) -> timedelta | None:
        if self.last_success is None:
            return None
        return datetime.now(timezone.utc) - _aware(self.last_success)


@dataclass
class ConnectionStatus:
    name: str
    systems: list[SystemStatus]
    flows: list[FlowStatus] = field(default_factory=list)
    errors_24h: int = 0  # errors of the last 24 h that are still unresolved
    resolved_24h: int = 0  # errors of the last 24 h resolved since (re-imported, fixed)
    open_failures: int = 0
    problem: str | None = None

    def title_of(self, role: str) -> str:
        found = next((s for s in self.systems if s.role == role), None)
        return found.title if found is not None and found.system else ROLE_TITLES.get(role, role).lower()

    def sections(self) -> list[tuple[str, list[FlowStatus]]]:
        """Flows grouped by direction, in the words of the integration page ("Imported from
        Lightspeed into Unleashed", "Exported from Unleashed to Lightspeed", "Sent to Xero")."""
        out: dict[str, list[FlowStatus]] = {}
        for f in self.flows:
            src, dst = self.title_of(f.source_role), self.title_of(f.target_role)
            if f.source_role == "pos":
                title = f"Imported from {src} into {dst}"
            elif f.target_role == "pos":
                title = f"Exported from {src} to {dst}"
            else:
                title = f"Sent from {src} to {dst}"
            out.setdefault(title, []).append(f)
        return list(out.items())

    @property
    def lag(self) -> timedelta | None:
        lags = [f.lag for f in self.flows if f.enabled and f.lag is not None]
        return max(lags) if lags else None

    @property
    def never_synced(self) -> list[str]:
        return [f.name for f in self.flows if f.enabled and f.last_success is None]


def offers_install(cls: type[Connector]) -> bool:
    """Does this connector override :meth:`Connector.oauth_authorize_url`?"""
    base = vars(Connector)["oauth_authorize_url"].__func__  # the function inside the classmethod
    return getattr(cls.oauth_authorize_url, "__func__", None) is not base


def connection_status(app: App, name: str) -> ConnectionStatus:
    conn = app.store.connection(name)
    cid = conn.id or 0
    refs = app.store.systems(cid)
    systems = []
    for role in ROLES:
        ref = refs.get(role)
        if ref is None:
            systems.append(SystemStatus(role, None, "not connected", None, False, False))
            continue
        cls = app.registries.connectors.get(ref.system)
        systems.append(SystemStatus(
            role, ref.system, (cls.title or ref.system) if cls else f"{ref.system} (plugin missing)", ref.base_url,
            bool(app.store.credentials(cid, ref.system)), bool(cls and offers_install(cls))))
    status = ConnectionStatus(name, systems)
    now = datetime.now(timezone.utc)
    errors = app.store.log_entries(cid, levels=["error"], since=now - timedelta(hours=24), limit=100_000)
    status.errors_24h = sum(1 for e in errors if e.resolved_at is None)
    status.resolved_24h = len(errors) - status.errors_24h
    open_entries = app.store.log_entries(cid, open_only=True, limit=100_000)
    status.open_failures = len(open_entries)
    waiting: dict[str, int] = {}
    for entry in open_entries:
        waiting[entry.flow or ""] = waiting.get(entry.flow or "", 0) + 1
    moved = _moved_since(app, cid, now.replace(hour=0, minute=0, second=0, microsecond=0))
    runs = app.store.last_runs(cid)
    try:
        runner = FlowRunner(app, app.runtime(name))
    except TillbridgeError as exc:
        status.problem = exc.message
        return status
    for flow in ordered_flows(app):
        status.flows.append(FlowStatus(flow.name, flow.description, runner.enabled(flow), runs.get(flow.name),
                                       app.store.last_success(cid, flow.name), flow.source_role, flow.target_role,
                                       flow.entity_type, moved.get(flow.name, 0), waiting.get(flow.name, 0)))
    return status


def _moved_since(app: App, connection_id: int, since: datetime) -> dict[str, int]:
    """Flow → records created or updated by its runs started since ``since``."""
    with app.store.session() as s:
        rows = s.exec(select(SyncRun.flow, func.sum(SyncRun.created + SyncRun.updated))
                      .where(SyncRun.connection_id == connection_id, SyncRun.started_at >= since)
                      .group_by(SyncRun.flow)).all()
    return {flow: int(total or 0) for flow, total in rows}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def ago(moment: datetime | None) -> str:
    """"3 min ago" for the page; exact times go in a ``title``."""
    if moment is None:
        return "never"
    return duration(datetime.now(timezone.utc) - _aware(moment)) + " ago"


def duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return _aware(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def direction_label(direction: str | None, titles: dict[str, str]) -> str:
    if not direction:
        return ""
    parts = [p.strip() for p in direction.split("→")]
    return " → ".join(titles.get(p, p) for p in parts)
