"""Lightspeed's app install (OAuth 2.0 authorization code), for the CLI and the console alike.

https://x-series-api.lightspeedhq.com/docs/authorization: real stores approve on secure.retail.lightspeed.app, an
emulator serves ``/connect``; the callback names the store that approved (``domain_prefix``).
https://x-series-api.lightspeedhq.com/docs/authorization: the code is traded at ``/api/1.0/token`` in a form body.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Mapping

import httpx

from tillbridge import AuthError, ConfigError

# https://x-series-api.lightspeedhq.com/docs/authorization
SECURE_AUTHORIZE = "https://secure.retail.lightspeed.app/connect"
DEFAULT_HOST = "https://{domain_prefix}.retail.lightspeed.app"


def authorize_page(base_url: str) -> str:
    """Where the person approves the app: Lightspeed's page for a real store, else ``{base}/connect``."""
    base = base_url.rstrip("/")
    real = "{domain_prefix}" in base or base.endswith(".retail.lightspeed.app")
    return SECURE_AUTHORIZE if real else base + "/connect"


def authorize_url(page: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                                    "state": state})
    return f"{page}?{query}"


def store_base(base_url: str, callback: Mapping[str, Any]) -> str:
    """The store's API base after the callback: a base still naming no store takes the callback's."""
    if "{domain_prefix}" not in base_url:
        return base_url
    if not callback.get("domain_prefix"):
        raise AuthError("Lightspeed did not say which store was connected (no domain_prefix)")
    return DEFAULT_HOST.format(domain_prefix=callback["domain_prefix"])


def exchange_code(token_url: str, code: str, client_id: str, client_secret: str, redirect_uri: str) -> dict[str, Any]:
    """``POST /api/1.0/token`` with the code in a form body (https://x-series-api.lightspeedhq.com/docs/authorization;
    never in the URL since 2017)."""
    try:
        response = httpx.post(token_url, data={"code": code, "client_id": client_id, "client_secret": client_secret,
                                               "grant_type": "authorization_code", "redirect_uri": redirect_uri},
                              timeout=30)
    except httpx.TransportError as exc:
        raise ConfigError(f"cannot reach Lightspeed at {token_url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise AuthError(f"Lightspeed refused the authorization code (HTTP {response.status_code})",
                        fix="check the client id and secret of your app, then try again")
    body = response.json()
    return {"access_token": body["access_token"], "refresh_token": body.get("refresh_token"),
            "expires": body.get("expires") or time.time() + float(body.get("expires_in") or 0),
            "domain_prefix": body.get("domain_prefix"), "client_id": client_id, "client_secret": client_secret}


def token_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/api/1.0/token"
