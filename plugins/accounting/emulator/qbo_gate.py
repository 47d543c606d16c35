"""Everything between a ``/v3/company/{realmId}/...`` request and its handler:

1. bearer token → 401 ``AuthenticationFault`` (code 3200) when missing, revoked or expired;
2. the token's company must be ``{realmId}`` and carry the accounting scope → 403
   ``AuthorizationFault`` (3100);
3. 500 requests per minute per realm and 10 in flight per app and realm → 429 with the
   ThrottleExceeded fault (https://blogs.intuit.com/2016/08/08/idg-concurrent-api-use-changes-coming-soon);
4. ``minorversion`` below 75 → 400 ValidationFault, or served as 75 (option
   ``minorversion_policy``;
   https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions);
5. ``requestid`` on writes (≤50 characters): a repeat gets the original response without the
   write running again (https://blogs.intuit.com/2015/04/06/15346/, Intuit's 2015 "Request ID" post);
6. the handler, under the emulator's lock; a ValidationFault about the data comes back in an
   HTTP 200 when ``faults_in_200`` is on
   (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors: "A Fault can
   arrive inside an HTTP 200").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from starlette.requests import Request
from starlette.responses import Response

from ._http import bearer_token, dumps, read_json, retry_after_seconds
from .api_limits import WindowQuota
from .oauth_tokens import TokenRejected
from .qbo_faults import QboFault, authentication, authorization, throttled
from .qbo_state import QboCompany, qbo_time
from .response_cache import fingerprint

if TYPE_CHECKING:
    from .qbo_emulator import QuickBooksEmulator

REQUEST_ID_MAX = 50  # https://blogs.intuit.com/2015/04/06/15346/: "≤50 chars (≤36 for batch)"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


@dataclass
class QboCall:
    company: QboCompany
    client_id: str
    method: str
    path_params: dict[str, str]
    query: dict[str, str]
    body: Any
    text: str
    now: datetime


Handler = Callable[[QboCall], dict[str, Any]]


class QboGate:
    def __init__(self, emulator: QuickBooksEmulator) -> None:
        self.emulator = emulator

    def endpoint(self, handler: Handler, write: bool) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            return await self.handle(request, handler, write)

        return run

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        merged = {"intuit_tid": secrets.token_hex(16), **(headers or {})}
        return Response(dumps(body), status, headers=merged, media_type="application/json")

    def _fault(self, fault: QboFault) -> Response:
        status = 200 if fault.business and self.emulator.settings.faults_in_200 else fault.status
        return self._answer(status, fault.body(qbo_time(self.emulator.clock.now())), fault.headers)

    async def handle(self, request: Request, handler: Handler, write: bool) -> Response:
        emu = self.emulator
        settings = emu.settings
        token = bearer_token(request)
        if token is None:
            return self._fault(authentication("Authorization header is missing or is not a Bearer token"))
        try:
            grant, _ = emu.tokens.authorise(token)
        except TokenRejected as rejected:
            return self._fault(authentication("Token expired" if rejected.reason == "expired" else "Token invalid"))
        realm = request.path_params.get("realmId", "")
        if realm != emu.company.realm_id or grant.extra.get("realm_id") != realm:
            return self._fault(authorization(f"The token is not authorised for company {realm}"))
        if ACCOUNTING_SCOPE not in grant.scope.split():
            return self._fault(authorization(f"The token lacks the {ACCOUNTING_SCOPE} scope"))

        quota = WindowQuota("minute", emu.minute_counter, realm, settings.per_minute)
        admission = emu.limiter.admit([quota], f"{grant.client_id}:{realm}", settings.concurrent)
        if not admission.allowed:
            headers: dict[str, str] = {}
            if settings.retry_after_header:
                headers["Retry-After"] = str(retry_after_seconds(emu.clock, admission.wait_seconds))
            return self._fault(throttled(headers))
        try:
            await emu.wait_until_released()
            return await self._process(request, handler, write, grant.client_id)
        finally:
            emu.limiter.gauge.leave(f"{grant.client_id}:{realm}")

    def _minorversion(self, query: dict[str, str]) -> QboFault | None:
        settings = self.emulator.settings
        text = query.get("minorversion")
        if text is None or text == "":
            if settings.require_minorversion:
                return QboFault("2010", "Request has invalid or unsupported property",
                                f"minorversion is required; send minorversion={settings.minimum_minorversion} or "
                                "later", element="minorversion")
            return None
        if not text.isdigit():
            return QboFault("2010", "Request has invalid or unsupported property",
                            f"minorversion must be a whole number, got {text!r}", element="minorversion")
        if int(text) < settings.minimum_minorversion and settings.minorversion_policy == "reject":
            return QboFault("2010", "Request has invalid or unsupported property",
                            f"minorversion {text} is not supported; minor versions 1-"
                            f"{settings.minimum_minorversion - 1} were retired on 1 Aug 2025. "
                            f"Use minorversion={settings.minimum_minorversion} or later.", element="minorversion")
        return None

    async def _process(self, request: Request, handler: Handler, write: bool, client_id: str) -> Response:
        emu = self.emulator
        query = {k.lower(): v for k, v in request.query_params.items()}
        problem = self._minorversion(query)
        if problem is not None:
            return self._fault(problem)
        raw = await request.body()
        body, body_ok = await read_json(request)
        request_id = query.get("requestid") if write else None
        if request_id is not None and len(request_id) > REQUEST_ID_MAX:
            return self._fault(QboFault("2050", "String length specified does not match the supported length",
                                        f"requestid must be {REQUEST_ID_MAX} characters or fewer",
                                        element="requestid"))
        with emu.lock:
            key = (emu.company.realm_id, request_id)
            if request_id is not None:
                cached = emu.request_ids.get(key)
                if cached is not None:
                    return Response(cached.body, cached.status, headers=cached.headers)
            content_type = request.headers.get("content-type", "")
            text = raw.decode("utf-8", "replace")
            if not body_ok and "json" in content_type:
                response = self._fault(QboFault("2010", "Request has invalid or unsupported property",
                                                "The request body is not valid JSON"))
            else:
                call = QboCall(emu.company, client_id, request.method.upper(), dict(request.path_params), query,
                               body if body_ok else None, text, emu.clock.now())
                try:
                    payload = handler(call)
                    payload["time"] = qbo_time(call.now)
                    response = self._answer(200, payload)
                except QboFault as fault:
                    response = self._fault(fault)
            if request_id is not None:
                emu.request_ids.put(key, fingerprint(request.method, request.url.path, raw), response.status_code,
                                    bytes(response.body), {"content-type": "application/json",
                                                           "intuit_tid": response.headers.get("intuit_tid", "")})
            return response
