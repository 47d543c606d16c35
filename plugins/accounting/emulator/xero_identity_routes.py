"""Xero identity: authorise, token, revocation, and the tenant ``/connections`` list.

- ``GET /identity/connect/authorize`` (login.xero.com) and ``POST /connect/token``
  (identity.xero.com) — the authorisation-code grant; the authorize page is a consent page
  (log in, pick the organisation, allow or cancel: :mod:`.consent`).
- Token response fields from xero-identity.yaml ``AccessToken`` (``id_token``, ``access_token``,
  ``expires_in``, ``token_type``, ``refresh_token``) plus ``scope``. A refresh token is issued only
  when ``offline_access`` was granted (https://developer.xero.com/documentation/guides/oauth2/auth-flow).
- Refresh tokens rotate; the old one works for ``refresh_grace`` seconds, then
  ``400 {"error": "invalid_grant"}`` (https://developer.xero.com/documentation/guides/oauth2/auth-flow: 30-minute grace,
  staff posts on the community).
- ``POST /connect/revocation`` revokes the consent and removes its connections.
- ``GET /connections`` (and the spec's ``/Connections`` spelling), ``DELETE /connections/{id}``
  → 204 / 404 (identity spec).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from . import consent
from ._http import basic_credentials, bearer_token, json_response, redirect_allowed
from .oauth_tokens import OAuthError, TokenRejected, TokenSet
from .xero_dates import identity_timestamp
from .xero_errors import problem_body

if TYPE_CHECKING:
    from .xero_emulator import XeroEmulator


def _oauth_error(error: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": error}, status, {"Cache-Control": "no-store", **(headers or {})})


def token_body(emu: XeroEmulator, tokens: TokenSet) -> dict[str, object]:
    scope = tokens.grant.scope
    body: dict[str, object] = {}
    if "openid" in scope.split():
        body["id_token"] = emu.id_token(tokens.grant)
    body.update({"access_token": tokens.access_token, "expires_in": tokens.expires_in, "token_type": "Bearer"})
    if tokens.refresh_token:
        body["refresh_token"] = tokens.refresh_token
    body["scope"] = scope
    return body


def identity_routes(emu: XeroEmulator) -> list[BaseRoute]:
    settings = emu.settings

    async def authorize(request: Request) -> Response:
        """GET shows the consent page; the page posts back here (log in, organisation, allow/cancel)."""
        q = dict(request.query_params) if request.method == "GET" else {
            k: str(v) for k, v in (await request.form()).items()}
        client_id = q.get("client_id", "")
        redirect_uri = q.get("redirect_uri", "")
        # RFC 6749 §4.1.2.1: a bad client or redirect URI is shown to the user, never redirected to.
        if client_id != settings.client_id:
            return PlainTextResponse("unauthorized_client: unknown client_id", 400)
        if not redirect_allowed(redirect_uri, settings.redirect_uris):
            return PlainTextResponse("invalid_request: redirect_uri is not registered for this app", 400)
        state = q.get("state")
        if q.get("response_type") != "code":
            return consent.back(redirect_uri, {"error": "unsupported_response_type"}, state)
        scope = " ".join(q.get("scope", "").split())
        if not scope:
            return consent.back(redirect_uri, {"error": "invalid_scope"}, state)
        with emu.lock:
            organisations = [consent.Organisation(t, emu.tenants[t].name) for t in emu.tenants]
        carried: dict[str, str] = {k: q[k] for k in ("response_type", "client_id", "redirect_uri", "scope", "state",
                                     "code_challenge", "code_challenge_method") if k in q}

        def show(error: str | None = None) -> Response:
            return consent.page(vendor="Xero", app_name=settings.app_name, action="/identity/connect/authorize",
                                carried=carried, scope=scope, organisations=organisations, error=error,
                                email=q.get("email", ""))

        if request.method == "GET":
            return show()
        answer = consent.read(q, organisations)
        if answer.error:
            return show(answer.error)
        if answer.organisation is None:  # "Cancel": the app hears access_denied
            return consent.back(redirect_uri, {"error": "access_denied"}, state)
        code = emu.tokens.issue_code(
            client_id, redirect_uri, scope, extra={"tenants": [answer.organisation]},
            code_challenge=q.get("code_challenge"), code_challenge_method=q.get("code_challenge_method"),
        )
        return consent.back(redirect_uri, {"code": code, "scope": scope}, state)

    async def token(request: Request) -> Response:
        form = await request.form()
        basic = basic_credentials(request)
        client_id, secret = basic if basic else (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        grant_type = str(form.get("grant_type", ""))
        pkce_client = basic is None and client_id == settings.client_id and not secret
        if client_id != settings.client_id or (secret != settings.client_secret and not pkce_client):
            if basic:
                return _oauth_error("invalid_client", 401, {"WWW-Authenticate": 'Basic realm="identity.xero.com"'})
            return _oauth_error("invalid_client")
        try:
            if grant_type == "authorization_code":
                code = emu.tokens.redeem_code(
                    str(form.get("code", "")), client_id, str(form.get("redirect_uri", "")),
                    str(form["code_verifier"]) if "code_verifier" in form else None,
                )
                if pkce_client and code.code_challenge is None:
                    return _oauth_error("invalid_client")
                tokens = emu.authorise_consent(client_id, code.scope, pkce=pkce_client,
                                                tenants=code.extra.get("tenants"))
            elif grant_type == "refresh_token":
                tokens = emu.tokens.refresh(str(form.get("refresh_token", "")), client_id)
                if pkce_client and not tokens.grant.extra.get("pkce"):
                    return _oauth_error("invalid_client")
            else:
                return _oauth_error("unsupported_grant_type")
        except OAuthError as error:
            return _oauth_error(error.error)
        return json_response(token_body(emu, tokens), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revocation(request: Request) -> Response:
        form = await request.form()
        basic = basic_credentials(request)
        client_id, secret = basic if basic else (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        if client_id != settings.client_id or (secret != settings.client_secret and basic is not None):
            return _oauth_error("invalid_client", 401 if basic else 400)
        token_value = str(form.get("token", ""))
        if not token_value:
            return _oauth_error("invalid_request")
        emu.revoke_token(token_value)
        # RFC 7009 §2.2: 200 whether or not the token was known.
        return Response(status_code=200)

    def _caller(request: Request) -> Response | None:
        token_value = bearer_token(request)
        if token_value is None:
            return json_response(problem_body(401, "Unauthorized", "AuthenticationUnsuccessful"), 401)
        try:
            emu.tokens.authorise(token_value)
        except TokenRejected:
            return json_response(problem_body(401, "Unauthorized", "AuthenticationUnsuccessful"), 401)
        return None

    async def connections(request: Request) -> Response:
        refused = _caller(request)
        if refused is not None:
            return refused
        wanted = request.query_params.get("authEventId")
        with emu.lock:
            rows = [
                {
                    "id": c.id, "authEventId": c.auth_event_id, "tenantId": c.tenant_id,
                    "tenantType": "ORGANISATION", "tenantName": emu.tenants[c.tenant_id].name,
                    "createdDateUtc": identity_timestamp(c.created_at),
                    "updatedDateUtc": identity_timestamp(c.updated_at),
                }
                for c in emu.connections.values()
                if wanted is None or c.auth_event_id == wanted.lower()
            ]
        return json_response(rows)

    async def delete_connection(request: Request) -> Response:
        refused = _caller(request)
        if refused is not None:
            return refused
        with emu.lock:
            removed = emu.connections.pop(request.path_params["id"].lower(), None)
        return Response(status_code=204 if removed else 404)

    return [
        Route("/identity/connect/authorize", authorize, methods=["GET", "POST"]),
        Route("/connect/token", token, methods=["POST"]),
        Route("/connect/revocation", revocation, methods=["POST"]),
        Route("/connections", connections, methods=["GET"]),
        Route("/Connections", connections, methods=["GET"]),
        Route("/connections/{id}", delete_connection, methods=["DELETE"]),
        Route("/Connections/{id}", delete_connection, methods=["DELETE"]),
    ]
