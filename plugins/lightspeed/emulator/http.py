"""HTTP plumbing shared by the route modules: responses, bearer auth, rate limit, errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import request_schemas
from .errors import BadRequest, StoreError
from .money import dumps
from .ratelimit import RATE_LIMITED_BODY

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator

#: An API handler gets the request and the calling app (OAuth client id or "personal").
Handler = Callable[[Request, str], Awaitable[Response]]

#: https://x-series-api.lightspeedhq.com/reference: the documented 401 body.
INVALID_TOKEN_BODY = {"error": "Access token is not valid"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def empty_response(status: int = 204) -> Response:
    return Response(b"", status_code=status)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        # Decimals, not floats: a price arrives with exactly the digits the client sent.
        return json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the request body is not valid JSON") from exc


def api_route(emulator: LightspeedEmulator, path: str, handler: Handler, methods: list[str]) -> Route:
    """Wrap a handler with what every API call goes through: token check, rate limit, the
    ``X-RateLimit-*`` headers, the request body checked against its official schema
    (``request_schemas``), and turning ``StoreError`` into the vendor's error response."""

    async def endpoint(request: Request) -> Response:
        app = emulator.tokens.app_for(bearer_token(request))
        if app is None:
            return json_response(INVALID_TOKEN_BODY, 401)
        state = emulator.limiter.hit(app)
        headers = emulator.limiter.headers(state)
        if emulator.limiter.refused(state):
            headers["Retry-After"] = emulator.limiter.retry_after(state)
            return json_response(RATE_LIMITED_BODY, 429, headers)
        try:
            await check_body(emulator, request, path)
            response = await handler(request, app)
        except StoreError as exc:
            response = json_response(exc.body(), exc.status)
        response.headers.update(headers)
        return response

    return Route(path, endpoint, methods=methods)


async def check_body(emulator: LightspeedEmulator, request: Request, route: str) -> None:
    """Refuse a write whose body breaks the route's published schema (wrong type, a required
    field missing, a value outside its enum) before anything changes.

    Lightspeed's errors are a small JSON object with ``error`` (the 2.0 OpenAPI's examples:
    ``{"error": "Access token is not valid"}``, ``{"error": "permission denied"}``), with
    ``message``/``details`` on some; a request the API cannot accept is a 400 Bad Request
    (x-series-api.lightspeedhq.com/docs/request_format says bodies are JSON objects of the
    documented fields). The exact body of a schema refusal is not published, so this is the most
    likely shape: ``{"error": "Bad Request", "message": ..., "details": [{"field", "message"}]}``,
    status ``request_validation_status`` (an option, 400 by default).
    """
    if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
        return
    if request_schemas.validator(request.method, route) is None:
        return
    found = request_schemas.problems(request.method, route, await read_json(request))
    if found:
        first = found[0]
        where = "the body" if first["field"] == "(body)" else first["field"]
        raise BadRequest(f"{where}: {first['message']}", status=emulator.opts.request_validation_status,
                         details=found)


def query_int(request: Request, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer") from exc
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}")
    return value


def query_bool(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in {"true", "1", "yes"}
