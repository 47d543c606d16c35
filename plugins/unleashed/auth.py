"""Unleashed request signing as an ``httpx.Auth`` (https://apidocs.unleashedsoftware.com/AuthenticationHelp)."""

from __future__ import annotations

from typing import Any, Generator

import httpx

from .signing import sign

# https://apidocs.unleashedsoftware.com/AuthenticationHelp: "partner_name/app_name", lowercase, no spaces
CLIENT_TYPE = "tillbridge/sync"


class UnleashedAuth(httpx.Auth):
    def __init__(self, credentials: dict[str, Any]) -> None:
        self.credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Sign exactly the bytes on the wire: the raw query without '?', '' when there is none.
        query = request.url.query.decode("ascii") if isinstance(request.url.query, bytes) else str(request.url.query)
        request.headers["api-auth-id"] = str(self.credentials.get("api_id") or "")
        request.headers["api-auth-signature"] = sign(query, str(self.credentials.get("api_key") or ""))
        request.headers["client-type"] = CLIENT_TYPE
        yield request
