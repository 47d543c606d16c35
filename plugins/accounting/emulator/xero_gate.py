"""Everything between an Accounting API request and its handler, in Xero's order:

1. bearer token (401 problem body when missing, unknown, revoked or expired);
2. ``xero-tenant-id`` header naming a connected organisation (403; the spec marks the header
   required on every Accounting path, https://developer.xero.com/documentation/guides/oauth2/auth-flow);
3. scopes (403 ``AuthorizationUnsuccessful`` when the consent lacks the API's scope);
4. limits per tenant (5 in flight, 60/minute, 5000/day) and per app (10,000/minute): 429 with
   ``Retry-After`` and ``X-Rate-Limit-Problem``; every response carries ``X-DayLimit-Remaining``,
   ``X-MinLimit-Remaining`` and ``X-AppMinLimit-Remaining`` (https://developer.xero.com/faq/limits, Xero FAQ);
5. ``Idempotency-Key`` on PUT/POST: replays count against the limits, then get the cached first
   response (errors included) for ``idempotency_window`` seconds, keyed per app; the same key on
   a different request is a 400 (https://developer.xero.com/documentation/guides/idempotent-requests/idempotency).

Handlers are synchronous and run under the emulator's lock once the body has been read, so a
write and its idempotency record are one atomic step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from ._http import bearer_token, json_response, read_json, retry_after_seconds
from .api_limits import WindowQuota
from .oauth_tokens import TokenRejected
from .response_cache import fingerprint
from .xero_errors import XeroApiError, post_data_invalid, problem, problem_body
from .xero_state import XeroTenant

if TYPE_CHECKING:
    from .xero_emulator import XeroEmulator

IDEMPOTENCY_KEY_MAX = 128  # spec parameter idempotencyKey: "128 character max"
WRITE_METHODS = {"PUT", "POST"}


@dataclass
class XeroCall:
    """One authorised Accounting API request, as handlers see it."""

    tenant: XeroTenant
    client_id: str
    method: str
    path_params: dict[str, str]
    query: dict[str, str]
    headers: Headers
    body: Any
    now: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        # Xero reads query parameter names case-insensitively (summarizeErrors, SummarizeErrors).
        return self.query.get(name.lower())

    def flag(self, name: str, default: bool) -> bool:
        value = self.param(name)
        if value is None or value == "":
            return default
        return value.strip().lower() in {"true", "1", "yes"}


Handler = Callable[[XeroCall], Response]


def _unauthorised(detail: str, error: str | None = None) -> Response:
    challenge = 'Bearer realm="api.xero.com"' if error is None else f'Bearer error="{error}"'
    return json_response(problem_body(401, "Unauthorized", detail), 401, {"WWW-Authenticate": challenge})


def _limit_headers(remaining: dict[str, int]) -> dict[str, str]:
    return {
        "X-DayLimit-Remaining": str(remaining.get("day", 0)),
        "X-MinLimit-Remaining": str(remaining.get("minute", 0)),
        "X-AppMinLimit-Remaining": str(remaining.get("appminute", 0)),
    }


class XeroGate:
    def __init__(self, emulator: XeroEmulator) -> None:
        self.emulator = emulator

    def endpoint(self, handler: Handler, scopes: tuple[str, ...], write: bool) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            return await self.handle(request, handler, scopes, write)

        return run

    def _scope_ok(self, granted: set[str], families: tuple[str, ...], write: bool) -> bool:
        if not self.emulator.settings.enforce_scopes:
            return True
        allowed = set(families) | (set() if write else {f"{family}.read" for family in families})
        return bool(granted & allowed)

    async def handle(self, request: Request, handler: Handler, scopes: tuple[str, ...], write: bool) -> Response:
        emu = self.emulator
        token = bearer_token(request)
        if token is None:
            return _unauthorised("AuthenticationUnsuccessful")
        try:
            grant, _ = emu.tokens.authorise(token)
        except TokenRejected as rejected:
            if rejected.reason == "expired" and rejected.expired_at is not None:
                moment = datetime.fromtimestamp(rejected.expired_at, tz=timezone.utc)
                return _unauthorised(f"TokenExpired: token expired at {moment:%m/%d/%Y %H:%M:%S}", "invalid_token")
            return _unauthorised("AuthenticationUnsuccessful", "invalid_token")
        tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
        tenant = emu.connected_tenant(tenant_id)
        if tenant is None:
            return problem(403, "Forbidden", "AuthenticationUnsuccessful").response()
        if not self._scope_ok(set(grant.scope.split()), scopes, write):
            return problem(403, "Forbidden", "AuthorizationUnsuccessful").response()

        settings = emu.settings
        quotas = [
            WindowQuota("day", emu.day_counter, tenant.tenant_id, settings.per_day),
            WindowQuota("minute", emu.minute_counter, tenant.tenant_id, settings.per_minute),
            WindowQuota("appminute", emu.minute_counter, f"app:{grant.client_id}", settings.app_per_minute),
        ]
        admission = emu.limiter.admit(quotas, tenant.tenant_id, settings.concurrent)
        headers = _limit_headers(admission.remaining)
        if not admission.allowed:
            assert admission.problem is not None
            headers["Retry-After"] = str(retry_after_seconds(emu.clock, admission.wait_seconds))
            headers["X-Rate-Limit-Problem"] = admission.problem
            return json_response(
                problem_body(429, "Too Many Requests", f"Rate limit exceeded: {admission.problem}"), 429, headers
            )
        try:
            await emu.wait_until_released()
            response = await self._process(request, handler, tenant, grant.client_id)
        finally:
            emu.limiter.gauge.leave(tenant.tenant_id)
        response.headers.update(headers)
        return response

    async def _process(self, request: Request, handler: Handler, tenant: XeroTenant, client_id: str) -> Response:
        emu = self.emulator
        raw = await request.body()
        body, body_ok = await read_json(request)
        method = request.method.upper()
        key = request.headers.get("idempotency-key") if method in WRITE_METHODS else None
        if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
            return problem(400, "Bad Request", f"Idempotency-Key must be {IDEMPOTENCY_KEY_MAX} characters or fewer").response()
        query = {k.lower(): v for k, v in request.query_params.items()}
        request_print = fingerprint(method, request.url.path, "&".join(sorted(f"{k}={v}" for k, v in query.items())),
                             tenant.tenant_id, raw)
        with emu.lock:
            if key is not None:
                cached = emu.idempotency.get((client_id, key))
                if cached is not None:
                    if cached.fingerprint != request_print:
                        return problem(
                            400, "Bad Request",
                            f"The idempotency key '{key}' is used with a different request",
                        ).response()
                    return Response(cached.body, cached.status, headers=cached.headers)
            call = XeroCall(tenant, client_id, method, dict(request.path_params), query, request.headers, body,
                            emu.clock.now())
            try:
                if not body_ok:
                    raise post_data_invalid("The request body is not valid JSON")
                response = handler(call)
            except XeroApiError as error:
                response = error.response()
            if key is not None:
                emu.idempotency.put((client_id, key), request_print, response.status_code, bytes(response.body),
                                    {"content-type": response.headers.get("content-type", "application/json")})
            return response
