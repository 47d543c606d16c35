"""Connection log: what happened to which record, why, and what to do; re-import from a line."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .. import services
from ..errors import TillbridgeError
from .console import attempt, console_of, flash, redirect, render, route

#: The same levels as ``tillbridge log --level``.
LEVELS = {"error": ["error"], "warning": ["error", "warning"], "info": ["error", "warning", "info"], "all": None}
LEVEL_LABELS = {"error": "Errors", "warning": "Errors and warnings", "info": "Errors, warnings and info",
                "all": "All"}
LIMITS = (50, 200, 1000)
REIMPORTABLE = {"failed", "held"}


async def log_page(request: Request) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    q = request.query_params
    level = q.get("level", "all")
    level = level if level in LEVELS else "all"
    entity = q.get("entity") or ""
    since_text = q.get("since") or ""
    record = (q.get("record") or "").strip()
    open_only = q.get("open") in {"1", "on", "true"}
    limit = int(q["limit"]) if q.get("limit", "").isdigit() and int(q["limit"]) in LIMITS else LIMITS[0]
    try:
        since = services.parse_date(since_text) if since_text else None
    except TillbridgeError as exc:
        flash(request, "error", exc.message, exc.fix)
        since = None

    def load() -> dict[str, Any]:
        app = console.app
        conn = app.store.connection(name)
        titles = {system: (cls.title or system) for system, cls in app.registries.connectors.items()}
        entries = app.store.log_entries(conn.id or 0, levels=LEVELS[level], entity_type=entity or None,
                                        since=since, open_only=open_only, record=record or None, limit=limit)
        entities = sorted({f.entity_type for f in app.flows().values()})
        return {"entries": entries, "entities": entities, "titles": titles}

    ok, data = await attempt(request, load)
    if not ok:
        return redirect(request, "/")
    filters = {"level": level, "entity": entity, "since": since_text, "record": record, "open": open_only,
               "limit": limit}
    return render(request, "log.html", connection=name, tab="log", filters=filters, levels=LEVEL_LABELS,
                  limits=LIMITS, reimportable=REIMPORTABLE, jobs=console.jobs.jobs(name), **data)


def routes() -> list[BaseRoute]:
    return [route("/c/{name}/log", log_page, name="log")]
