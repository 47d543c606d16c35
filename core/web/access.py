"""Who may use the console: one admin password, signed session cookies, CSRF tokens.

* The password is stored as an Argon2id hash (argon2-cffi's current defaults) in the
  ``key_value`` table; ``tillbridge web set-password`` sets it.
* Sessions live in a signed cookie (Starlette's ``SessionMiddleware``, itsdangerous): HttpOnly,
  ``SameSite=Lax`` (the OAuth callback is a top-level GET from the vendor's site and must carry
  it; every state change is a POST with a CSRF token, which Lax keeps cross-site posts from),
  ``Secure`` when served over TLS. The signing key is random, made once, kept in ``key_value``.
* A session remembers a digest of the password hash it logged in with, so setting a new
  password ends every existing session.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import Any, MutableMapping
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.datastructures import URL
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..app import App
from ..errors import ConfigError
from .keyvalue import get_value, set_value, setdefault_value

PASSWORD_KEY = "web.password_hash"
SECRET_KEY = "web.session_secret"
MIN_PASSWORD_LENGTH = 10
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Paths anyone may fetch: the login page and the static files it needs.
PUBLIC_PREFIXES = ("/login", "/static/")

_hasher = PasswordHasher()


def base_of(scope_or_request: Any) -> str:
    """The prefix the console is mounted under ("" at the root; e.g. "/console" in the daemon)."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    return str(scope.get("root_path") or "").rstrip("/")


def local_path(scope_or_request: Any) -> str:
    """The request's path inside the console (without the mount prefix)."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    base, path = base_of(scope), str(scope["path"])
    if base and path.startswith(base):
        return path[len(base):] or "/"
    return path


# --- the password ----------------------------------------------------------------------------------
def set_password(app: App, password: str) -> None:
    """Hash and store the admin password (ends every session made with the old one)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(f"the password is too short ({len(password)} characters)",
                          fix=f"use at least {MIN_PASSWORD_LENGTH} characters")
    set_value(app, PASSWORD_KEY, _hasher.hash(password))


def has_password(app: App) -> bool:
    return bool(get_value(app, PASSWORD_KEY))


def check_password(app: App, password: str) -> str | None:
    """The session stamp for a correct password, ``None`` for a wrong one (or none set)."""
    stored = get_value(app, PASSWORD_KEY)
    if not stored:
        return None
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(stored):  # parameters got stronger since it was set
        stored = _hasher.hash(password)
        set_value(app, PASSWORD_KEY, stored)
    return password_stamp(stored)


def password_stamp(stored_hash: str | None) -> str:
    return hashlib.sha256((stored_hash or "").encode()).hexdigest()[:16]


def current_stamp(app: App) -> str | None:
    stored = get_value(app, PASSWORD_KEY)
    return password_stamp(stored) if stored else None


def session_secret(app: App) -> str:
    """The cookie-signing key: random, made on first use, the same for every process on this DB."""
    return get_value(app, SECRET_KEY) or setdefault_value(app, SECRET_KEY, secrets.token_urlsafe(48))


# --- sessions and CSRF --------------------------------------------------------------------------------
def csrf_token(session: MutableMapping[str, Any]) -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def csrf_ok(session: MutableMapping[str, Any], offered: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and offered) and hmac.compare_digest(str(expected), str(offered))


def forbidden() -> Response:
    return PlainTextResponse(
        "Forbidden: this form's security token is missing or out of date. Reload the page and try again.",
        status_code=403)


def is_public(path: str) -> bool:
    return any(path == p or path.startswith(p) for p in PUBLIC_PREFIXES)


class RequireLogin:
    """Pure ASGI middleware (inside ``SessionMiddleware``): no valid session → the login page.

    A session is valid when it was made with the current password (see :func:`password_stamp`).
    htmx requests get ``HX-Redirect`` instead of a 303 their XHR would follow silently.
    """

    def __init__(self, asgi: ASGIApp, app: App, login_token: str | None = None) -> None:
        self.asgi = asgi
        self.app = app
        self.login_token = login_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(local_path(scope)):
            await self.asgi(scope, receive, send)
            return
        session = scope.get("session", {})
        stamp = session.get("user")
        if stamp and stamp in self._valid_stamps():
            await self.asgi(scope, receive, send)
            return
        session.pop("user", None)
        query = URL(scope=scope).query
        target = local_path(scope) + (f"?{query}" if query else "")
        login = base_of(scope) + "/login" + (
            f"?next={quote(target, safe='')}" if scope["method"] == "GET" and target != "/" else "")
        headers = dict((k.decode().lower(), v.decode()) for k, v in scope.get("headers", []))
        if headers.get("hx-request"):
            response: Response = PlainTextResponse("Please log in.", status_code=200, headers={"HX-Redirect": login})
        else:
            response = RedirectResponse(login, status_code=303)
        await response(scope, receive, send)

    def _valid_stamps(self) -> set[str]:
        stamp = current_stamp(self.app)
        valid = {stamp} if stamp else set()
        if self.login_token:  # the demo's login link: valid while this process runs
            valid.add(token_stamp(self.login_token))
        return valid


def token_stamp(token: str) -> str:
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class SecurityHeaders:
    """Headers every console response carries: no framing, no sniffing, only our own scripts."""

    CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")

    def __init__(self, asgi: ASGIApp) -> None:
        self.asgi = asgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.asgi(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", self.CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    # the OAuth callback URL carries a code: never leak it in a Referer
                    (b"referrer-policy", b"same-origin"),
                ]
                if "/static/" not in scope["path"]:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.asgi(scope, receive, send_with_headers)


def is_loopback(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
