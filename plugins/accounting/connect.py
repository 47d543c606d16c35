"""``tillbridge connect xero`` / ``quickbooks``: OAuth 2.0 in a browser, then the tokens stored.

The URL builders and the code exchange are shared with the web console's Connect button (the
connectors' ``oauth_authorize_url`` / ``oauth_exchange``); :func:`connect_xero` and
:func:`connect_quickbooks` add the loopback redirect and store the result through
:class:`tillbridge.admin.Admin`.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from tillbridge import AuthError, ConfigError
from tillbridge.admin import Admin
from tillbridge.oauth import authorize_in_browser

from .oauth2 import post_token, token_values


@dataclass
class ConnectResult:
    description: str
    tenants: list[str] = field(default_factory=list)


def xero_urls(base_url: str | None) -> tuple[str, str, str]:
    """``(API base, identity host, login host)`` for a Xero base URL: Xero's own three hosts, or
    an emulator's root (which serves all three)."""
    from .xero import API_URL, IDENTITY_URL, LOGIN_URL

    api = (base_url or API_URL).rstrip("/")
    if api == API_URL.rstrip("/"):
        return api, IDENTITY_URL, LOGIN_URL
    root = api[: -len("/api.xro/2.0")] if api.endswith("/api.xro/2.0") else api
    return f"{root}/api.xro/2.0", root, root


def xero_authorize_url(login: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    from .xero import SCOPES

    return f"{login.rstrip('/')}/identity/connect/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
        "state": state})


def refused_consent(callback: dict[str, str] | Any, provider: str) -> None:
    """The person pressed Cancel (or the provider refused): say so in words, and what to do."""
    error = callback.get("error")
    if not error:
        return
    if error == "access_denied":
        raise AuthError(f"{provider} was not connected: access was not allowed on {provider}'s page",
                        fix=f"press Connect {provider} again and choose “Allow access” to connect it")
    raise AuthError(f"{provider} refused the connection ({error})",
                    fix=f"press Connect {provider} again; if it keeps failing, check the app's settings "
                        f"in {provider}'s developer portal")


def xero_exchange(api: str, identity: str, callback: dict[str, str] | Any, *, client_id: str, client_secret: str,
                  redirect_uri: str, tenant: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Trade the callback's code for tokens, then take the organisation the person picked on
    Xero's consent page: the connections of this authorisation (``authEventId`` of the access
    token, https://developer.xero.com/documentation/guides/oauth2/tenants). Returns the
    credentials to store and every organisation of that consent."""
    import httpx

    refused_consent(callback, "Xero")
    if not callback.get("code"):
        raise AuthError("Xero's answer carries no code", fix="press Connect Xero again")
    body = post_token(f"{identity.rstrip('/')}/connect/token", client_id, client_secret, {
        "grant_type": "authorization_code", "code": callback.get("code", ""), "redirect_uri": redirect_uri}, "Xero")
    values = token_values(body, {"client_id": client_id, "client_secret": client_secret,
                                 "identity_url": identity.rstrip("/")})
    root = api[: -len("/api.xro/2.0")] if api.endswith("/api.xro/2.0") else api
    event = _jwt_claim(str(values["access_token"]), "authentication_event_id")
    response = httpx.get(f"{root}/connections", params={"authEventId": event} if event else None,
                         headers={"Authorization": f"Bearer {values['access_token']}"}, timeout=30)
    if response.status_code != 200:
        raise ConfigError(f"Xero did not list the connected organisations (HTTP {response.status_code})",
                          fix="press Connect Xero again (or run `tillbridge connect xero` again)")
    rows = [r for r in response.json() if r.get("tenantType", "ORGANISATION") == "ORGANISATION"]
    chosen = _pick_tenant(rows, tenant)
    values["tenant_id"] = chosen["tenantId"]
    return values, rows


def _jwt_claim(token: str, claim: str) -> str | None:
    """A claim of a JWT's payload, read without checking the signature (only to filter a list)."""
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    value = payload.get(claim) if isinstance(payload, dict) else None
    return str(value) if value else None


def connect_xero(app: Any, name: str, *, client_id: str, client_secret: str, api_url: str | None = None,
                 identity_url: str | None = None, login_url: str | None = None, tenant: str | None = None,
                 port: int = 0, open_browser: bool = True, visit: Callable[[str], None] | None = None,
                 announce: Callable[[str], None] = print) -> ConnectResult:
    """Authorise the app in a browser (the person picks the organisation on Xero's consent page),
    store the tokens encrypted. ``tenant`` (id or name) is needed only when one consent connected
    several organisations."""
    api, identity, login = xero_urls(api_url)
    identity = (identity_url or identity).rstrip("/")
    login = (login_url or login).rstrip("/")

    def build(redirect_uri: str, state: str) -> str:
        return xero_authorize_url(login, client_id=client_id, redirect_uri=redirect_uri, state=state)

    params, redirect_uri = authorize_in_browser(build, port=port, open_browser=open_browser, visit=visit,
                                                announce=announce)
    values, rows = xero_exchange(api, identity, params, client_id=client_id, client_secret=client_secret,
                                 redirect_uri=redirect_uri, tenant=tenant)
    names = [f"{r.get('tenantName')} ({r.get('tenantId')})" for r in rows]
    admin = Admin.of(app)
    admin.ensure_system(name, "accounting", "xero", api)
    return ConnectResult(admin.save_credentials(name, "xero", values), names)


def _pick_tenant(rows: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    if not rows:
        raise ConfigError("no Xero organisation was connected", fix="choose an organisation on Xero's page")
    if wanted:
        text = wanted.strip().casefold()
        for row in rows:
            if text in {str(row.get("tenantId", "")).casefold(), str(row.get("tenantName", "")).casefold()}:
                return row
        raise ConfigError(f"no connected Xero organisation is called {wanted!r}",
                          fix="one of: " + ", ".join(str(r.get("tenantName")) for r in rows))
    if len(rows) > 1:
        raise ConfigError("several Xero organisations are connected: say which",
                          fix="--tenant NAME, one of: " + ", ".join(str(r.get("tenantName")) for r in rows))
    return rows[0]


def quickbooks_urls(base_url: str | None) -> tuple[str, str, str]:
    """``(API base, token URL, authorize URL)``: Intuit's, or an emulator's root serving all."""
    from .quickbooks import API_URL, AUTHORIZE_URL, TOKEN_URL

    api = (base_url or API_URL).rstrip("/")
    if api.endswith(".api.intuit.com") or api == API_URL.rstrip("/"):
        return api, TOKEN_URL, AUTHORIZE_URL
    return api, f"{api}/oauth2/v1/tokens/bearer", f"{api}/connect/oauth2"


def quickbooks_authorize_url(authorize: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    from .quickbooks import SCOPES

    return f"{authorize}?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": SCOPES,
        "state": state})


def quickbooks_exchange(token: str, callback: dict[str, str] | Any, *, client_id: str, client_secret: str,
                        redirect_uri: str) -> dict[str, Any]:
    """Trade the code for tokens; the company picked on Intuit's page comes back as ``realmId``."""
    refused_consent(callback, "QuickBooks")
    if not callback.get("realmId"):
        raise ConfigError("QuickBooks did not say which company was connected (no realmId)",
                          fix="press Connect QuickBooks again and pick a company")
    body = post_token(token, client_id, client_secret, {
        "grant_type": "authorization_code", "code": callback.get("code", ""), "redirect_uri": redirect_uri},
        "QuickBooks")
    return token_values(body, {"client_id": client_id, "client_secret": client_secret,
                               "realm_id": callback["realmId"], "token_url": token})


def connect_quickbooks(app: Any, name: str, *, client_id: str, client_secret: str, api_url: str | None = None,
                       token_url: str | None = None, authorize_url: str | None = None, port: int = 0,
                       open_browser: bool = True, visit: Callable[[str], None] | None = None,
                       announce: Callable[[str], None] = print) -> ConnectResult:
    """Authorise in a browser; the company (``realmId``) comes back on the redirect."""
    from .quickbooks import API_URL, AUTHORIZE_URL, TOKEN_URL

    api = (api_url or API_URL).rstrip("/")
    token = token_url or TOKEN_URL
    authorize = authorize_url or AUTHORIZE_URL

    def build(redirect_uri: str, state: str) -> str:
        return quickbooks_authorize_url(authorize, client_id=client_id, redirect_uri=redirect_uri, state=state)

    params, redirect_uri = authorize_in_browser(build, port=port, open_browser=open_browser, visit=visit,
                                                announce=announce)
    values = quickbooks_exchange(token, params, client_id=client_id, client_secret=client_secret,
                                 redirect_uri=redirect_uri)
    admin = Admin.of(app)
    admin.ensure_system(name, "accounting", "quickbooks", api)
    return ConnectResult(admin.save_credentials(name, "quickbooks", values))
