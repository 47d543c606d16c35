"""The OAuth pages: ``/connect`` (stand-in for ``secure.retail.lightspeed.app/connect``) and the
store's token endpoint ``POST /api/1.0/token`` (https://x-series-api.lightspeedhq.com/docs/authorization)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .auth import OAuthError, redirect_uri_allowed
from .http import json_response

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error_page(message: str) -> HTMLResponse:
    html = f"<!doctype html><title>Unable to connect</title><h1>Unable to connect</h1><p>{escape(message)}</p>"
    return HTMLResponse(html, status_code=400)


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:
    opts = emulator.opts

    async def connect(request: Request) -> Response:
        q = request.query_params
        if q.get("response_type") != "code":
            return _error_page("response_type must be code.")
        if q.get("client_id") != opts.client_id:
            return _error_page("Unknown application (client_id).")
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri_allowed(redirect_uri, opts.redirect_uris):
            # https://x-series-api.lightspeedhq.com/docs/authorization: redirect_uri must exactly match the
            # one registered for the app.
            return _error_page("The redirect_uri does not match the application's redirect URI.")
        state = q.get("state", "")
        if q.get("deny") in {"1", "true"}:
            # The retailer clicked "deny": the callback gets error=access_denied.
            return RedirectResponse(_with_query(redirect_uri, {"error": "access_denied", "state": state}), 302)
        code = emulator.tokens.new_code(opts.client_id, redirect_uri, q.get("scope", ""))
        params = {"code": code, "domain_prefix": opts.domain_prefix, "state": state}
        if q.get("scope"):
            # newer flows echo the scope (https://x-series-api.lightspeedhq.com/docs/authorization)
            params["scope"] = q["scope"]
        return RedirectResponse(_with_query(redirect_uri, params), 302)

    async def token(request: Request) -> Response:
        # Since April 2017 the parameters must be form fields in the body, not the query
        # (https://x-series-api.lightspeedhq.com/docs/authorization).
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return json_response({"error": "invalid_request", "error_description": "send a form-encoded body"}, 400)
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            return json_response(emulator.tokens.token_request(form))
        except OAuthError as exc:
            return json_response({"error": exc.error, "error_description": exc.description}, 400)

    return [
        Route("/connect", connect, methods=["GET"]),
        Route("/api/1.0/token", token, methods=["POST"]),
    ]
