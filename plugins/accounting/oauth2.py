"""OAuth 2.0 bearer auth for accounting providers, with refresh serialised per connection.

Xero and QuickBooks rotate refresh tokens: each refresh returns a new one and the old one dies
(Xero after a 30-minute grace, QuickBooks "always store the latest";
https://developer.xero.com/documentation/guides/oauth2/auth-flow,
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0). Two
workers refreshing the same token set at once is the classic way to lose a connection (``invalid_grant``). So:

* one lock per (database, connection, system), shared by every connector instance and every
  process (``ConnectionState.lock``: a daemon thread, a CLI command and another worker process
  all wait for the one refreshing);
* inside the lock, the *stored* credentials are read again: if another worker (even another
  process) already rotated the tokens, its new pair is adopted instead of refreshing again;
* the new pair is saved (encrypted) before the request is retried.
"""

from __future__ import annotations

import base64
import threading
import time
from contextlib import AbstractContextManager
from typing import Any, Callable, Generator

import httpx

from tillbridge import AuthError, TransientError

#: Refresh this many seconds before the access token expires.
REFRESH_MARGIN = 120.0

#: The name of the refresh lock in the connector's ``ConnectionState`` (namespace: its system).
REFRESH_LOCK = "oauth token refresh"


def token_values(body: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Credentials after a token response: keep everything else, replace the token pair."""
    values = dict(previous)
    values["access_token"] = body["access_token"]
    # A provider may leave the refresh token out when it did not rotate it: keep the old one.
    values["refresh_token"] = body.get("refresh_token") or previous.get("refresh_token")
    values["expires_at"] = time.time() + float(body.get("expires_in") or 1800)
    return values


def post_token(token_url: str, client_id: str, client_secret: str, form: dict[str, str], provider: str,
               client: httpx.Client | None = None) -> dict[str, Any]:
    """``POST`` to a token endpoint with HTTP Basic client authentication (both providers' way)."""
    request_client = client or httpx.Client(timeout=30.0)
    try:
        response = request_client.post(token_url, data=form, auth=(client_id, client_secret),
                                       headers={"Accept": "application/json"})
    except httpx.TransportError as exc:
        raise TransientError(f"cannot reach {provider}'s token endpoint {token_url}: {type(exc).__name__}") from None
    finally:
        if client is None:
            request_client.close()
    return _token_body(response, provider)


def _token_body(response: httpx.Response, provider: str) -> dict[str, Any]:
    if response.status_code == 200:
        return response.json()
    if response.status_code >= 500:
        raise TransientError(f"{provider}'s token endpoint failed (HTTP {response.status_code})",
                             status=response.status_code)
    try:
        error = response.json().get("error", "")
    except ValueError:
        error = response.text[:100]
    raise AuthError(f"{provider} refused the token request (HTTP {response.status_code}: {error})",
                    fix=f"connect {provider} again: `tillbridge connect {provider.lower().split()[0]}`")


class OAuth2Auth(httpx.Auth):
    requires_response_body = True

    def __init__(self, credentials: dict[str, Any], save: Callable[[dict[str, Any]], None], *,
                 token_url: str, provider: str) -> None:
        self.credentials = credentials
        self.save = save
        self.token_url = token_url
        self.provider = provider
        self._lock: AbstractContextManager[Any] = threading.Lock()
        self._reload: Callable[[], dict[str, Any]] | None = None

    def bind(self, reload: Callable[[], dict[str, Any]], lock: AbstractContextManager[Any]) -> None:
        """Re-read stored credentials before refreshing, under a lock shared per connection."""
        self._reload = reload
        self._lock = lock

    # --- state ------------------------------------------------------------------------------------
    def _token(self, values: dict[str, Any] | None = None) -> str:
        return str((values if values is not None else self.credentials).get("access_token") or "")

    def _expiring(self, values: dict[str, Any] | None = None) -> bool:
        expires = (values if values is not None else self.credentials).get("expires_at")
        if not expires:
            return False
        return float(expires) - REFRESH_MARGIN <= time.time()

    def _can_refresh(self) -> bool:
        c = self.credentials
        return bool(c.get("refresh_token") and c.get("client_id") and c.get("client_secret"))

    # --- flow ---------------------------------------------------------------------------------------
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._can_refresh() and (self._expiring() or not self._token()):
            yield from self._refresh(stale=self._token())
        sent_with = self._token()
        request.headers["Authorization"] = f"Bearer {sent_with}"
        response = yield request
        if response.status_code == 401 and self._can_refresh():
            yield from self._refresh(stale=sent_with)
            if self._token() != sent_with:
                request.headers["Authorization"] = f"Bearer {self._token()}"
                yield request

    def _refresh(self, stale: str) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self._token() != stale and not self._expiring():
                return  # another thread of this process refreshed while we waited
            if self._reload is not None:
                stored = self._reload()
                if stored and self._token(stored) != stale and not self._expiring(stored):
                    # Another worker rotated the pair and saved it: use theirs, do not burn it.
                    self.credentials.update(stored)
                    return
                if stored.get("refresh_token"):
                    self.credentials.update({k: stored[k] for k in ("refresh_token",) if k in stored})
            c = self.credentials
            response = yield httpx.Request(
                "POST", self.token_url,
                data={"grant_type": "refresh_token", "refresh_token": str(c["refresh_token"])},
                headers={"Authorization": _basic(str(c["client_id"]), str(c["client_secret"])),
                         "Accept": "application/json"},
            )
            body = _token_body(response, self.provider)
            values = token_values(body, self.credentials)
            self.credentials.update(values)
            self.save(values)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
