"""Lightspeed X-Series authentication: Bearer tokens, refreshed and rotated safely.

OAuth tokens come from ``POST /api/1.0/token`` on the store's own host
(https://x-series-api.lightspeedhq.com/docs/authorization). Refresh tokens rotate
(https://x-series-api.lightspeedhq.com/docs/authorization): each refresh
returns a new one and invalidates the old, so refreshes are serialised per connection and the
new pair is saved before the request is retried. Personal tokens never expire.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Generator

import httpx

REFRESH_MARGIN = 60.0  # refresh this many seconds before the access token expires


class LightspeedAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, credentials: dict[str, Any], save: Callable[[dict[str, Any]], None]) -> None:
        self.credentials = credentials
        self.save = save
        self._lock = threading.Lock()

    def _token(self) -> str:
        return str(self.credentials.get("personal_token") or self.credentials.get("access_token") or "")

    @property
    def can_refresh(self) -> bool:
        c = self.credentials
        return bool(c.get("refresh_token") and c.get("client_id") and c.get("client_secret")
                    and not c.get("personal_token"))

    def _expiring(self) -> bool:
        expires = self.credentials.get("expires")
        if not expires:
            return False
        return float(expires) - REFRESH_MARGIN <= time.time()

    def _refresh_request(self, request: httpx.Request) -> httpx.Request:
        c = self.credentials
        url = request.url.copy_with(path="/api/1.0/token", query=None)
        return httpx.Request("POST", url, data={
            "refresh_token": c["refresh_token"], "client_id": c["client_id"],
            "client_secret": c["client_secret"], "grant_type": "refresh_token",
        })

    def _apply(self, body: dict[str, Any]) -> None:
        updated = dict(self.credentials)
        updated["access_token"] = body["access_token"]
        # An older server may omit a new refresh token: keep the old one
        # (https://x-series-api.lightspeedhq.com/docs/authorization).
        updated["refresh_token"] = body.get("refresh_token") or updated.get("refresh_token")
        if body.get("expires"):
            updated["expires"] = body["expires"]
        elif body.get("expires_in"):
            updated["expires"] = time.time() + float(body["expires_in"])
        self.save(updated)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.can_refresh and self._expiring():
            yield from self._refresh(request, stale=self._token())
        sent_with = self._token()
        request.headers["Authorization"] = f"Bearer {sent_with}"
        response = yield request
        if response.status_code == 401 and self.can_refresh:
            yield from self._refresh(request, stale=sent_with)
            request.headers["Authorization"] = f"Bearer {self._token()}"
            yield request

    def _refresh(self, request: httpx.Request, stale: str) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self._token() != stale:
                return  # another thread refreshed while we waited
            response = yield self._refresh_request(request)
            if response.status_code == 200:
                self._apply(response.json())
