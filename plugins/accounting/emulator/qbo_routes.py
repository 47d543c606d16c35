"""QuickBooks Online routes: OAuth (appcenter / oauth.platform hosts) and the v3 Accounting API.

- ``GET /connect/oauth2`` → redirect with ``code``, ``state`` and ``realmId``; ``POST
  /oauth2/v1/tokens/bearer`` (Basic client auth) with ``authorization_code``/``refresh_token``
  grants → ``access_token``, ``refresh_token``, ``expires_in`` 3600, ``x_refresh_token_expires_in``,
  ``token_type`` ``bearer``; ``POST /v2/oauth2/tokens/revoke``
  (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0).
- ``/v3/company/{realmId}/``: ``invoice`` (create; ``Id`` + ``SyncToken`` updates;
  ``?operation=delete``), ``invoice/{id}``, ``customer``, ``customer/{id}``, ``query``,
  ``companyinfo/{id}`` and reads of ``item``/``account``/``taxcode``/``taxrate``. Responses wrap
  the entity: ``{"Invoice": {...}, "time": ...}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from . import consent
from ._http import basic_credentials, json_response, redirect_allowed
from .oauth_tokens import OAuthError
from .qbo_customers import write_customer
from .qbo_faults import QboFault, object_not_found, query_error
from .qbo_gate import QboCall, QboGate
from .qbo_invoices import delete_invoice, write_invoice
from .qbo_query import parse_query, run_query
from .qbo_schema import refuse_off_schema

if TYPE_CHECKING:
    from .qbo_emulator import QuickBooksEmulator

V3 = "/v3/company/{realmId}"


def _oauth_error(error: str, status: int = 400) -> Response:
    return json_response({"error": error}, status, {"Cache-Control": "no-store"})


def oauth_routes(emu: QuickBooksEmulator) -> list[BaseRoute]:
    settings = emu.settings

    async def authorize(request: Request) -> Response:
        """GET shows Intuit's consent page (sign in, pick the company, connect or cancel); the
        page posts back here. The redirect carries ``realmId`` of the company picked."""
        q = dict(request.query_params) if request.method == "GET" else {
            k: str(v) for k, v in (await request.form()).items()}
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != settings.client_id:
            return PlainTextResponse("invalid_client: unknown client_id", 400)
        if not redirect_allowed(redirect_uri, settings.redirect_uris):
            return PlainTextResponse("invalid_request: redirect_uri is not registered for this app", 400)
        state = q.get("state")
        scope = " ".join(q.get("scope", "").split())
        if q.get("response_type") != "code":
            return consent.back(redirect_uri, {"error": "unsupported_response_type"}, state)
        if not scope:
            return consent.back(redirect_uri, {"error": "invalid_scope"}, state)
        companies = [consent.Organisation(emu.company.realm_id, settings.company_name)]
        carried: dict[str, str] = {k: q[k] for k in ("response_type", "client_id", "redirect_uri", "scope", "state") if k in q}

        def show(error: str | None = None) -> Response:
            return consent.page(vendor="QuickBooks", app_name="Tillbridge", action="/connect/oauth2",
                                carried=carried, scope=scope, organisations=companies, what="company",
                                error=error, email=q.get("email", ""))

        if request.method == "GET":
            return show()
        answer = consent.read(q, companies)
        if answer.error:
            return show(answer.error)
        if answer.organisation is None:
            return consent.back(redirect_uri, {"error": "access_denied"}, state)
        code = emu.tokens.issue_code(settings.client_id, redirect_uri, scope)
        return consent.back(redirect_uri, {"code": code, "realmId": answer.organisation}, state)

    async def token(request: Request) -> Response:
        form = await request.form()
        basic = basic_credentials(request)
        client_id, secret = basic if basic else (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        if client_id != settings.client_id or secret != settings.client_secret:
            return _oauth_error("invalid_client", 401)
        grant_type = str(form.get("grant_type", ""))
        try:
            if grant_type == "authorization_code":
                code = emu.tokens.redeem_code(str(form.get("code", "")), client_id,
                                              str(form.get("redirect_uri", "")), None)
                tokens = emu.consent(code.scope)
            elif grant_type == "refresh_token":
                tokens = emu.tokens.refresh(str(form.get("refresh_token", "")), client_id)
            else:
                return _oauth_error("unsupported_grant_type")
        except OAuthError as error:
            return _oauth_error(error.error)
        return json_response(emu.token_body(tokens), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def revoke(request: Request) -> Response:
        basic = basic_credentials(request)
        if basic != (settings.client_id, settings.client_secret):
            return _oauth_error("invalid_client", 401)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip().startswith(b"{") else dict((await request.form()).items())
        except ValueError:
            body = {}
        value = str(body.get("token", "")) if isinstance(body, dict) else ""
        if not value:
            return _oauth_error("invalid_request")
        emu.revoke_token(value)
        return Response(status_code=200)

    return [
        Route("/connect/oauth2", authorize, methods=["GET", "POST"]),
        Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
        Route("/oauth2/v1/tokens/revoke", revoke, methods=["POST"]),
        Route("/v2/oauth2/tokens/revoke", revoke, methods=["POST"]),
    ]


def _read(entity: str) -> Any:
    def handler(call: QboCall) -> dict[str, Any]:
        record = call.company.get(entity, call.path_params["id"])
        if record is None:
            raise object_not_found(entity, call.path_params["id"])
        return {entity: record}

    return handler


def api_routes(emu: QuickBooksEmulator) -> list[BaseRoute]:
    gate = QboGate(emu)

    def post_invoice(call: QboCall) -> dict[str, Any]:
        refuse_off_schema(call.body, "Invoice")
        operation = call.query.get("operation")
        if operation == "delete":
            return {"Invoice": delete_invoice(call.company, call.body)}
        if operation not in (None, "", "update", "create"):
            raise QboFault("2010", "Request has invalid or unsupported property",
                           f"Operation {operation} is not supported.", element="operation")
        return {"Invoice": write_invoice(call.company, call.body, call.now, emu.settings)}

    def post_customer(call: QboCall) -> dict[str, Any]:
        refuse_off_schema(call.body, "Customer")
        return {"Customer": write_customer(call.company, call.body, call.now)}

    def company_info(call: QboCall) -> dict[str, Any]:
        if call.path_params["id"] != call.company.realm_id:
            raise object_not_found("CompanyInfo", call.path_params["id"])
        return {"CompanyInfo": call.company.info}

    def query(call: QboCall) -> dict[str, Any]:
        text = call.query.get("query") or (call.text if call.method == "POST" else "")
        if not text.strip():
            raise query_error("the query parameter is empty.")
        parsed = parse_query(text)
        rows, total = run_query(parsed, list(call.company.tables[parsed.entity].values()))
        if parsed.count:
            return {"QueryResponse": {"totalCount": total}}
        if not rows:
            return {"QueryResponse": {}}  # QuickBooks omits the entity key when nothing matches
        return {"QueryResponse": {parsed.entity: rows, "startPosition": parsed.start, "maxResults": len(rows)}}

    def route(path: str, method: str, handler: Any) -> Route:
        return Route(f"{V3}{path}", gate.endpoint(handler, method == "POST" and path != "/query"), methods=[method])

    return [
        route("/invoice", "POST", post_invoice),
        route("/invoice/{id}", "GET", _read("Invoice")),
        route("/customer", "POST", post_customer),
        route("/customer/{id}", "GET", _read("Customer")),
        route("/item/{id}", "GET", _read("Item")),
        route("/account/{id}", "GET", _read("Account")),
        route("/taxcode/{id}", "GET", _read("TaxCode")),
        route("/taxrate/{id}", "GET", _read("TaxRate")),
        route("/companyinfo/{id}", "GET", company_info),
        route("/query", "GET", query),
        route("/query", "POST", query),
    ]
