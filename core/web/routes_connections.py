"""Connections overview and each connection's systems: install, credentials, disconnect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .. import services
from ..app import App
from ..connector import ROLES, Connector, CredentialField
from ..errors import TillbridgeError
from .console import Console, attempt, console_of, flash, form_action, redirect, render, route
from .status import connection_status, offers_install
from .systems import DISCONNECTABLE, connect_system, disconnect_system, finish_install, merged_credentials, start_install

INSTALL_FIELDS = ("client_id", "client_secret")


@dataclass
class Candidate:
    """A connector that can fill a role, with what its forms show."""

    system: str
    title: str
    installable: bool
    fields: tuple[CredentialField, ...]
    base_url: str
    stored: dict[str, str]  # non-secret stored values, to pre-fill
    saved_secrets: frozenset[str]  # secret fields that have a stored value
    current: bool  # the system that fills the role now
    manual: bool = True  # may credentials be typed (``Connector.manual_credentials``)


def candidates(console: Console, name: str, role: str) -> list[Candidate]:
    app: App = console.app
    conn = app.store.connection(name)
    ref = app.store.systems(conn.id or 0).get(role)
    out = []
    for system, cls in sorted(app.registries.connectors.items()):
        if role not in cls.roles:
            continue
        stored = app.store.credentials(conn.id or 0, system)
        secrets_ = {f.name for f in cls.credential_fields if f.secret}
        if ref is not None and ref.system == system:
            base = ref.base_url
        else:
            base = console.demo_urls.get(cls.emulator or "", "") or cls.default_base_url
        out.append(Candidate(
            system, cls.title or system, offers_install(cls), cls.credential_fields, base,
            {k: str(v) for k, v in stored.items() if k not in secrets_ and v is not None},
            frozenset(k for k in secrets_ if stored.get(k)), ref is not None and ref.system == system,
            cls.manual_credentials or not offers_install(cls)))
    # the system in use first; else one that installs as an app (the usual way), then by name
    out.sort(key=lambda c: (not c.current, not c.installable, c.title.lower()))
    return out


async def overview(request: Request) -> Response:
    console = console_of(request)

    def load() -> list[Any]:
        return [connection_status(console.app, c.name) for c in console.app.store.connections()]

    statuses = await run_in_threadpool(load)
    return render(request, "overview.html", statuses=statuses, tab="overview")


async def add_connection(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name = str(form.get("name") or "").strip()
    ok, _ = await attempt(request, services.add_connection, console.app, name, {})
    if not ok:
        return redirect(request, "/")
    flash(request, "ok", f"Connection {name!r} created. Next: connect its systems below.")
    return redirect(request, f"/c/{name}")


async def connection_page(request: Request) -> Response:
    console = console_of(request)
    name = request.path_params["name"]

    def load() -> tuple[Any, dict[str, list[Candidate]]]:
        return (connection_status(console.app, name),
                {role: candidates(console, name, role) for role in ROLES})

    ok, loaded = await attempt(request, load)
    if not ok:
        return redirect(request, "/")
    status, roles = loaded
    drafts = request.session.pop("draft_credentials", {})
    return render(request, "connection.html", connection=name, status=status, roles=roles, tab="connection",
                  disconnectable=DISCONNECTABLE, drafts=drafts)


async def save_system(request: Request, form: FormData) -> Response:
    """The credentials form of one system: save after a live check."""
    console = console_of(request)
    name, role = request.path_params["name"], request.path_params["role"]
    system = str(form.get("system") or "")
    base_url = str(form.get("base_url") or "").strip()

    def save() -> str:
        values = merged_credentials(console.app, name, system, form)
        return connect_system(console.app, name, role, system, base_url, values)

    ok, description = await attempt(request, save)
    if ok:
        flash(request, "ok", f"Connected: {description}.")
    else:
        request.session["draft_credentials"] = _drafts(console, system, form)
    return redirect(request, f"/c/{name}#role-{role}")


def _drafts(console: Console, system: str, form: FormData) -> dict[str, Any]:
    """What the user typed, minus secrets, to show again after a refusal."""
    try:
        cls: type[Connector] = console.app.connector_class(system)
    except TillbridgeError:
        return {}
    secret = {f.name for f in cls.credential_fields if f.secret} | {"client_secret"}
    values = {k: str(v)[:300] for k, v in form.items() if k not in secret and k != "csrf_token"}
    return {system: values}


async def install(request: Request, form: FormData) -> Response:
    """"Install app": remember the install, send the browser to the vendor's approval page."""
    console = console_of(request)
    name, role = request.path_params["name"], request.path_params["role"]
    system = str(form.get("system") or "")
    redirect_uri = str(request.url_for("oauth_callback"))

    def start() -> tuple[str, str]:
        stored = console.app.store.credentials(console.app.store.connection(name).id or 0, system)
        client_id = str(form.get("client_id") or "").strip() or str(stored.get("client_id") or "")
        client_secret = str(form.get("client_secret") or "").strip() or str(stored.get("client_secret") or "")
        return start_install(console.app, console.pending, name, role, system,
                             str(form.get("base_url") or "").strip(), client_id, client_secret, redirect_uri)

    ok, started = await attempt(request, start)
    if not ok:
        request.session["draft_credentials"] = _drafts(console, system, form)
        return redirect(request, f"/c/{name}#role-{role}")
    state, url = started
    request.session["oauth_state"] = state
    return redirect(request, url)


async def oauth_callback(request: Request) -> Response:
    """The vendor sends the browser back here with ``code`` and ``state``."""
    console = console_of(request)
    callback = {k: v for k, v in request.query_params.items()}
    pending = console.pending.get(callback.get("state") or "")
    back = f"/c/{pending.connection}#role-{pending.role}" if pending else "/"
    ok, finished = await attempt(request, finish_install, console.app, console.pending,
                                 request.session.pop("oauth_state", None), callback)
    if ok:
        install_, description = finished
        flash(request, "ok", f"App installed. Connected: {description}." if install_.role == "pos"
              else f"Connected: {description}.")
    return redirect(request, back)


async def disconnect(request: Request, form: FormData) -> Response:
    console = console_of(request)
    name, role = request.path_params["name"], request.path_params["role"]
    ok, system = await attempt(request, disconnect_system, console.app, name, role)
    if ok:
        flash(request, "ok", f"{system} disconnected from {name!r}; its credentials are forgotten.")
    return redirect(request, f"/c/{name}#role-{role}")


def routes() -> list[BaseRoute]:
    return [
        route("/", overview, name="overview"),
        route("/connections", form_action(add_connection), post=True, name="add_connection"),
        route("/c/{name}", connection_page, name="connection"),
        route("/c/{name}/systems/{role}", form_action(save_system), post=True, name="save_system"),
        route("/c/{name}/install/{role}", form_action(install), post=True, name="install"),
        route("/c/{name}/disconnect/{role}", form_action(disconnect), post=True, name="disconnect"),
        route("/oauth/callback", oauth_callback, name="oauth_callback"),
    ]
