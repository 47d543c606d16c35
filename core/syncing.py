"""Running flows on demand (a sync, an import from a date, a product export, a re-import of
what failed), saying what a run did, and keeping the connection log's retention."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Sequence

from sqlalchemy import delete, or_
from sqlmodel import col

from .app import App
from .errors import ConfigError, SettingError, TillbridgeError
from .flows import Flow, order_flows
from .runner import FlowRunner, ProgressCallback, RunResult
from .storage.models import LogEntry


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
