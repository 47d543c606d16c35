"""Retention as a job: the connection log, run history and webhook receipts do not grow forever.

Per connection, log entries and runs older than its ``log_retention_days`` go (the latest run of
each flow, and its latest successful one, are kept, so "last success" survives a long outage); webhook receipts go after the
vendors' retry window. Runs hourly, and once shortly after start.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func
from sqlmodel import col, select

from ..app import App
from ..storage.models import SyncRun, WebhookDelivery

log = logging.getLogger("tillbridge.daemon.retention")


def prune(app: App, *, webhook_receipt_days: int, connections: tuple[str, ...] = ()) -> dict[str, int]:
    """Delete what is past retention; returns counts per connection (log + runs + receipts)."""
    store = app.store
    counts: dict[str, int] = {}
    now = datetime.now(timezone.utc)
    for conn in store.connections():
        if connections and conn.name not in connections:
            continue
        cid = conn.id or 0
        days = int(app.settings(conn).get("log_retention_days") or 90)
        removed = store.prune_log(cid, days)
        with store.session() as s:
            latest = select(func.max(SyncRun.id)).where(SyncRun.connection_id == cid).group_by(SyncRun.flow)
            latest_ok = (select(func.max(SyncRun.id)).where(SyncRun.connection_id == cid, SyncRun.status == "ok")
                         .group_by(SyncRun.flow))
            runs = s.exec(delete(SyncRun).where(
                col(SyncRun.connection_id) == cid, col(SyncRun.started_at) < now - timedelta(days=days),
                col(SyncRun.id).not_in(latest), col(SyncRun.id).not_in(latest_ok)))
            receipts = s.exec(delete(WebhookDelivery).where(
                col(WebhookDelivery.connection_id) == cid,
                col(WebhookDelivery.received_at) < now - timedelta(days=webhook_receipt_days)))
            s.commit()
        counts[conn.name] = removed + int(runs.rowcount or 0) + int(receipts.rowcount or 0)
        if counts[conn.name]:
            log.info("pruned %d old log entries, runs and webhook receipts of %s", counts[conn.name], conn.name,
                     extra={"connection": conn.name})
    return counts


__all__ = ["prune"]
