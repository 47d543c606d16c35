"""The console's Starlette app: routes, middleware, templates and the helpers every page uses.

Pages are rendered on the server (Jinja2) and work as plain HTML forms; htmx (``hx-boost``)
turns them into in-place updates and SortableJS adds drag-and-drop mapping. Every change goes
through :mod:`tillbridge.services`, :meth:`App.set_settings` or the store, as the CLI does.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..app import App
from ..errors import TillbridgeError
from .access import (
    CSRF_FIELD,
    CSRF_HEADER,
    RequireLogin,
    SecurityHeaders,
    base_of,
    csrf_ok,
    csrf_token,
    forbidden,
    is_loopback,
    local_path,
    session_secret,
)
from .jobs import JobBoard
from .status import ROLE_TITLES, ago, direction_label, duration, when

HERE = Path(__file__).parent
SESSION_COOKIE = "tillbridge_console"
SESSION_HOURS = 12
Handler = Callable[[Request], Awaitable[Response]]


class Console:
    """State of one console app: the tillbridge app, running jobs, pending installs, caches."""

    def __init__(self, app: App, *, demo_urls: Mapping[str, str] | None = None, login_token: str | None = None,
                 https: bool = False) -> None:
        self.app = app
        self.demo_urls = dict(demo_urls or {})
        self.login_token = login_token
        self.https = https
        self.jobs = JobBoard()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.filters.update(ago=ago, when=when, duration=duration, direction=direction_label)
        env.globals.update(ROLE_TITLES=ROLE_TITLES)
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._cache_lock = threading.Lock()
        self.pending: dict[str, Any] = {}  # OAuth state -> oauth_install.PendingInstall

    # A small cache for lists fetched from remote systems (sales groups): a page load must not
    # cost an API call each time (Unleashed counts calls against a monthly quota).
    def cached(self, key: tuple[str, ...], ttl: float, load: Callable[[], Any]) -> Any:
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit and time.monotonic() - hit[0] < ttl:
                return hit[1]
        value = load()
        with self._cache_lock:
            self._cache[key] = (time.monotonic(), value)
        return value

    def forget_cached(self, connection: str) -> None:
        with self._cache_lock:
            for key in [k for k in self._cache if k[0] == connection]:
                del self._cache[key]


def console_of(request: Request) -> Console:
    return request.app.state.console


# --- rendering -------------------------------------------------------------------------------------
def flash(request: Request, kind: str, text: str, fix: str | None = None) -> None:
    """A message for the next page (kept in the session; short, never secret)."""
    messages = list(request.session.get("flash", []))
    messages.append({"kind": kind, "text": text[:600], "fix": (fix or "")[:400]})
    request.session["flash"] = messages[-5:]


def render(request: Request, template: str, status_code: int = 200, *, fragment: bool = False,
           **context: Any) -> Response:
    """A page (or, with ``fragment``, a piece a page polls: it leaves pending messages alone)."""
    console = console_of(request)
    session = request.session
    names = [c.name for c in console.app.store.connections()]
    base = {
        "csrf": csrf_token(session),
        "csrf_field": CSRF_FIELD,
        "flashes": [] if fragment else session.pop("flash", []),
        "connections": names,
        "demo": bool(console.demo_urls),
        "logged_in": bool(session.get("user")),
        "base": base_of(request),
        # reached over plain HTTP by a name that is not this machine: say so on every page
        "insecure": request.url.scheme == "http" and not is_loopback(request.url.hostname or ""),
        "path": local_path(request),
        "full_path": local_path(request) + (f"?{request.url.query}" if request.url.query else ""),
    }
    return console.templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def redirect(request: Request, url: str) -> Response:
    """A 303 to a console path (given without the mount prefix) or to an absolute URL."""
    return RedirectResponse(base_of(request) + url if url.startswith("/") else url, status_code=303)


def safe_next(value: Any, default: str) -> str:
    """Only local paths: a ``next`` field must never send the browser to another site."""
    text = str(value or "")
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return text
    return default


async def attempt(request: Request, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """Run a (blocking) service call in a worker thread; a refusal becomes a message on the page."""
    try:
        return True, await run_in_threadpool(fn, *args, **kwargs)
    except TillbridgeError as exc:
        flash(request, "error", exc.message, exc.fix)
    except httpx.TransportError as exc:
        flash(request, "error", f"network error: {type(exc).__name__}: {exc}",
              "check the service's base URL and that it is running")
    return False, None


def form_action(handler: Callable[[Request, FormData], Awaitable[Response]]) -> Handler:
    """A POST endpoint: the form must carry this session's CSRF token (field or header), else 403."""

    async def endpoint(request: Request) -> Response:
        form = await request.form()
        offered = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not csrf_ok(request.session, str(offered) if offered else None):
            return forbidden()
        return await handler(request, form)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def create_console_app(app: App, *, demo_urls: Mapping[str, str] | None = None, login_token: str | None = None,
                       https: bool = False) -> Starlette:
    """The console as an ASGI app (``tillbridge web``, ``tillbridge demo --web``, or the daemon's listener).

    :param demo_urls: emulator name → base URL, when the console runs beside the demo's emulators
        (pre-fills their addresses in the connect forms).
    :param login_token: a secret that logs in through ``/login?token=…`` while this app lives
        (the demo prints such a link); ``None``: the admin password only.
    :param https: served over TLS: session cookies get the ``Secure`` flag.
    """
    from . import routes_auth, routes_config, routes_connections, routes_data, routes_log, routes_reconcile

    console = Console(app, demo_urls=demo_urls, login_token=login_token, https=https)
    routes: list[BaseRoute] = [
        *routes_auth.routes(),
        *routes_connections.routes(),
        *routes_config.routes(),
        *routes_data.routes(),
        *routes_log.routes(),
        *routes_reconcile.routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=session_secret(app), session_cookie=SESSION_COOKIE,
                   max_age=SESSION_HOURS * 3600, same_site="lax", https_only=https),
        Middleware(RequireLogin, app=app, login_token=login_token),
    ]
    routes_reconcile.install(console)
    web = Starlette(routes=routes, middleware=middleware)
    web.state.console = console
    return web


def route(path: str, endpoint: Handler, *, post: bool = False, name: str | None = None) -> Route:
    return Route(path, endpoint, methods=["POST"] if post else ["GET"], name=name)
