"""Connecting the systems of a connection from the console: credential forms and "Install app".

Credentials always go through :func:`services.save_credentials`, which makes one call that
proves they work before anything is stored. A failed attempt leaves the connection as it was.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import delete
from sqlmodel import col

from .. import services
from ..app import App
from ..connector import Connector
from ..errors import AuthError, ConfigError
from ..storage.models import Credential

#: Roles the console lets an administrator disconnect (POS and inventory are the connection itself).
DISCONNECTABLE = frozenset({"accounting"})
INSTALL_TTL = 600.0  # seconds a started install may take (the vendor's code lives about as long)


def connect_system(app: App, name: str, role: str, system: str, base_url: str | None,
                   values: dict[str, Any]) -> str:
    """Point ``role`` at ``system`` and save checked credentials; undo the change if they fail."""
    conn = app.store.connection(name)
    cls = app.connector_class(system)
    if role not in cls.roles:
        raise ConfigError(f"{cls.title or system} cannot be the {role} system")
    previous = app.store.systems(conn.id or 0).get(role)
    services.set_system(app, name, role, system, base_url or None)
    try:
        return services.save_credentials(app, name, system, values)
    except BaseException:
        if previous is not None:
            services.set_system(app, name, role, previous.system, previous.base_url)
        else:
            app.store.remove_system(conn.id or 0, role)
            app.forget_runtime(name)
        raise


def merged_credentials(app: App, name: str, system: str, submitted: Mapping[str, Any]) -> dict[str, Any]:
    """Submitted values over the stored ones: a secret left blank keeps what is stored."""
    cls = app.connector_class(system)
    conn = app.store.connection(name)
    values = dict(app.store.credentials(conn.id or 0, system))
    for field in cls.credential_fields:
        raw = str(submitted.get(field.name) or "").strip()
        if raw:
            values[field.name] = raw
    return values


def disconnect_system(app: App, name: str, role: str) -> str:
    """Remove a role's system from a connection and forget its credentials."""
    if role not in DISCONNECTABLE:
        raise ConfigError(f"the {role} system cannot be disconnected here",
                          fix="connect another system in its place instead")
    conn = app.store.connection(name)
    ref = app.store.systems(conn.id or 0).get(role)
    if ref is None:
        raise ConfigError(f"connection {name!r} has no {role} system")
    app.store.remove_system(conn.id or 0, role)
    with app.store.session() as s:
        s.exec(delete(Credential).where(col(Credential.connection_id) == conn.id,
                                        col(Credential.system) == ref.system))
        s.commit()
    app.forget_runtime(name)
    return ref.system


# --- "Install app": OAuth 2.0 authorization code through the browser ------------------------------
@dataclass
class PendingInstall:
    """An install between the redirect to the vendor and its callback (kept in memory only:
    the client secret never goes into a cookie)."""

    connection: str
    role: str
    system: str
    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    created: float


def start_install(app: App, pending: dict[str, PendingInstall], name: str, role: str, system: str,
                  base_url: str, client_id: str, client_secret: str, redirect_uri: str) -> tuple[str, str]:
    """Remember the install and return ``(state, authorize URL)`` to send the browser to."""
    app.store.connection(name)  # refuse an unknown connection before leaving the console
    cls = app.connector_class(system)
    if role not in cls.roles:
        raise ConfigError(f"{cls.title or system} cannot be the {role} system")
    if not client_id or not client_secret:
        raise ConfigError("installing the app needs its client id and client secret",
                          fix="copy them from your app's page in the vendor's developer portal")
    base = base_url or cls.default_base_url
    state = secrets.token_urlsafe(24)
    url = cls.oauth_authorize_url(base, client_id=client_id, redirect_uri=redirect_uri, state=state)
    if url is None:
        raise ConfigError(f"{cls.title or system} has no app to install", fix="enter its credentials instead")
    _expire(pending)
    pending[state] = PendingInstall(name, role, system, base, client_id, client_secret, redirect_uri, time.time())
    return state, url


def finish_install(app: App, pending: dict[str, PendingInstall], expected_state: str | None,
                   callback: Mapping[str, str]) -> tuple[PendingInstall, str]:
    """Check the callback, exchange its code, save the credentials; ``(install, description)``."""
    _expire(pending)
    state = callback.get("state") or ""
    if not state or not expected_state or not secrets.compare_digest(state, expected_state):
        raise AuthError("the authorization answer does not belong to an install started in this browser",
                        fix="start the install again from the connection's page")
    install = pending.pop(state, None)
    if install is None:
        raise AuthError("this install took too long or was already finished",
                        fix="start the install again from the connection's page")
    if callback.get("error"):
        title = app.connector_class(install.system).title or install.system
        if callback["error"] == "access_denied":
            raise AuthError(f"{title} was not connected: access was not allowed on its page",
                            fix="press the button again and choose to allow access")
        raise AuthError(f"{title} refused the connection ({callback['error']})",
                        fix=f"press the button again; if it keeps failing, check the app in {title}'s developer portal")
    if not callback.get("code"):
        raise AuthError("the authorization answer carries no code", fix="start the install again")
    cls: type[Connector] = app.connector_class(install.system)
    exchanged = cls.oauth_exchange(install.base_url, callback, client_id=install.client_id,
                                   client_secret=install.client_secret, redirect_uri=install.redirect_uri)
    if exchanged is None:
        raise ConfigError(f"{cls.title or install.system} has no app to install")
    base_url, credentials = exchanged
    description = connect_system(app, install.connection, install.role, install.system, base_url, credentials)
    return install, description


def _expire(pending: dict[str, PendingInstall]) -> None:
    now = time.time()
    for state in [s for s, p in list(pending.items()) if now - p.created > INSTALL_TTL]:
        del pending[state]
