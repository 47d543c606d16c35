"""Manage your data: imports since a date, exports, re-imports, each run as a background job."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .. import services
from ..app import App
from ..errors import ConfigError
from ..runner import ProgressCallback, RunResult
from .console import attempt, console_of, flash, form_action, redirect, render, route, safe_next

PLURALS = {"product": "products", "customer": "customers", "sale": "sales", "stock": "stock levels",
           "invoice": "invoices"}


def import_entities(app: App) -> list[str]:
    """Entity types an always-on flow imports into the inventory system (what ``import`` offers)."""
    seen: list[str] = []
    for flow in services.ordered_flows(app):
        if flow.switch is None and flow.target_role == "inventory" and flow.entity_type not in seen:
            seen.append(flow.entity_type)
    return seen


def open_failures(app: App, name: str) -> Counter[str]:
    conn = app.store.connection(name)
    return Counter(e.entity_type or "other" for e in app.store.log_entries(conn.id or 0, open_only=True,
                                                                           limit=100_000))


async def data_page(request: Request) -> Response:
    console = console_of(request)
    name = request.path_params["name"]

    def load() -> dict[str, Any]:
        app = console.app
        return {"entities": import_entities(app), "failures": open_failures(app, name),
                "can_export": "export_products" in app.flows(),
                "default_since": (datetime.now(timezone.utc) - timedelta(days=7)).date().isoformat()}

    ok, data = await attempt(request, load)
    if not ok:
        return redirect(request, "/")
    return render(request, "data.html", connection=name, tab="data", jobs=console.jobs.jobs(name),
                  plurals=PLURALS, **data)


async def jobs_panel(request: Request) -> Response:
    """The jobs fragment the page polls while a job runs."""
    console = console_of(request)
    name = request.path_params["name"]
    jobs = console.jobs.jobs(name)
    response = render(request, "_jobs.html", fragment=True, connection=name, jobs=jobs)
    if request.headers.get("hx-request") and not any(j.running for j in jobs):
        # the page polled because a job ran; now that none does, reload it so its counts and
        # log lines show what the job changed (the reloaded page no longer polls)
        response.headers["HX-Refresh"] = "true"
    return response


def _work(app: App, name: str, kind: str, form: FormData) -> tuple[str, Callable[[ProgressCallback], Any]]:
    """Title and body of the job a form asks for; bad input is refused before anything starts."""
    if kind == "import":
        entity = str(form.get("entity") or "")
        if entity not in import_entities(app):
            raise ConfigError(f"nothing imports {entity!r}", fix="choose products, customers or sales")
        since = services.parse_date(str(form.get("since") or ""))
        title = f"Import {PLURALS.get(entity, entity)} since {since:%Y-%m-%d}"
        return title, lambda progress: services.import_since(app, name, entity, since, progress=progress)
    if kind == "export_products":
        return "Export products", lambda progress: services.export_products(app, name, progress=progress)
    if kind == "sync":
        return "Sync every enabled flow", lambda progress: services.sync_once(app, name, progress=progress)
    if kind == "reimport":
        failed_of = str(form.get("entity") or "") or None
        record = str(form.get("record") or "").strip() or None
        if record:
            title = f"Re-import record {form.get('label') or record}"
        elif failed_of:
            title = f"Re-import failed {PLURALS.get(failed_of, failed_of)}"
        else:
            title = "Re-import every failed record"

        def reimport(progress: ProgressCallback) -> list[RunResult]:
            return services.reimport(app, name, entity=failed_of, record=record)

        return title, reimport
    raise ConfigError(f"unknown job {kind!r}")


async def start_job(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name, kind = request.path_params["name"], request.path_params["kind"]
    back = safe_next(form.get("next"), f"/c/{name}/data")

    def start() -> str:
        console.app.store.connection(name)
        title, work = _work(console.app, name, kind, form)
        return console.jobs.start(name, title, work).title

    ok, title = await attempt(request, start)
    if ok:
        flash(request, "ok", f"Started: {title}. Its progress shows below.")
    return redirect(request, back)


def routes() -> list[BaseRoute]:
    return [
        route("/c/{name}/data", data_page, name="data"),
        route("/c/{name}/jobs", jobs_panel, name="jobs"),
        route("/c/{name}/jobs/{kind}", form_action(start_job), post=True, name="start_job"),
    ]
