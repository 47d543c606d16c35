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
    errors_24h: int = 0
    open_failures: int = 0
    problem: str | None = None

    @property
    def lag(self) -> timedelta | None:
        lags = [f.lag for f in self.flows if f.enabled and f.lag is not None]
        return max(lags) if lags else None

    @property
    def never_synced(self) -> list[str]:
        return [f.name for f in self.flows if f.enabled and f.last_success is None]


def offers_install(cls: type[Connector]) -> bool:
    """Does this connector override :meth:`Connector.oauth_authorize_url`?"""
    return getattr(cls.oauth_authorize_url, "__func__", None) is not Connector.oauth_authorize_url.__func__


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
    day_ago = datetime.now(timezone.utc) - timedelta(hours=24)
    status.errors_24h = len(app.store.log_entries(cid, levels=["error"], since=day_ago, limit=100_000))
    status.open_failures = len(app.store.log_entries(cid, open_only=True, limit=100_000))
    runs = app.store.last_runs(cid)
    try:
        runner = FlowRunner(app, app.runtime(name))
    except TillbridgeError as exc:
        status.problem = exc.message
        return status
    for flow in ordered_flows(app):
        status.flows.append(FlowStatus(flow.name, flow.description, runner.enabled(flow), runs.get(flow.name),
                                       app.store.last_success(cid, flow.name)))
    return status


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
