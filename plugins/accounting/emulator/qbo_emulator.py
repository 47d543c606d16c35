"""``QuickBooksEmulator``: QuickBooks Online OAuth and v3 Accounting API for one company."""

from __future__ import annotations

import base64
import json
import secrets
import string
import threading
from typing import Any

from starlette.routing import BaseRoute

from tillbridge.emulation import Emulator, FixedWindowCounter, Send

from ._http import dumps, to_plain
from .api_limits import Limiter, wait_until
from .oauth_tokens import Grant, TokenSet, TokenStore
from .qbo_customers import write_customer
from .qbo_faults import throttled
from .qbo_gate import ACCOUNTING_SCOPE
from .qbo_routes import api_routes, oauth_routes
from .qbo_settings import QboSettings
from .qbo_state import QboCompany, new_company, qbo_time
from .response_cache import ResponseCache


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _access_token(grant: Grant, issued_at: float, expires_at: float) -> str:
    # Intuit access tokens are compact JWEs: a "dir" header and four more base64url parts.
    header = _b64({"enc": "A128CBC-HS256", "alg": "dir"})
    return f"{header}..{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(96)}.{secrets.token_urlsafe(16)}"


def _refresh_token() -> str:
    # Intuit refresh tokens look like "AB11" followed by ~46 letters and digits.
    alphabet = string.ascii_letters + string.digits
    return "AB11" + "".join(secrets.choice(alphabet) for _ in range(46))


class QuickBooksEmulator(Emulator):
    name = "quickbooks"
    title = "QuickBooks Online Accounting API (OAuth 2.0, invoices, customers, query)"

    # --- lifecycle -----------------------------------------------------------------------------
    def setup(self) -> None:
        self.settings = QboSettings.from_options(self.options)
        s = self.settings
        realm = s.realm_id or str(self.rng.randrange(10**15, 10**16))
        self.company: QboCompany = new_company(
            realm, s.company_name, s.country, s.currency, s.currency_name, self.clock.now(),
            {"Item": s.items, "Account": s.accounts, "TaxCode": s.tax_codes, "TaxRate": s.tax_rates},
        )
        self.tokens = TokenStore(
            self.clock, access_ttl=s.access_token_ttl, refresh_ttl=s.refresh_ttl, refresh_grace=s.refresh_grace,
            access_format=_access_token, refresh_format=_refresh_token,
        )
        self.request_ids = ResponseCache(self.clock, s.requestid_window)
        self.limiter = Limiter(self.clock)
        self.minute_counter = FixedWindowCounter(self.clock, 60.0)
        self._released = threading.Event()
        self._released.set()

    def routes(self) -> list[BaseRoute]:
        return [*oauth_routes(self), *api_routes(self)]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "realm_id": self.realm_id,
                "invoices": self.invoices(),
                "customers": self.customers(),
                "tokens": self.tokens.counts(),
                "request_ids": len(self.request_ids),
            }

    def credentials(self, base_url: str) -> dict[str, Any]:
        token = self.issue_token()
        return {
            "base_url": base_url,
            "api_url": f"{base_url}/v3/company/{self.realm_id}",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "realm_id": self.realm_id,
            "access_token": token["access_token"],
            "refresh_token": token["refresh_token"],
            "minorversion": self.settings.minimum_minorversion,
        }

    async def rate_limited(self, send: Send) -> None:
        body = dumps(throttled({}).body(qbo_time(self.clock.now())))
        await send({
            "type": "http.response.start",
            "status": 429,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})

    # --- OAuth helpers ----------------------------------------------------------------------------
    def consent(self, scope: str) -> TokenSet:
        grant = self.tokens.new_grant(self.settings.client_id, scope, {"realm_id": self.realm_id})
        return self.tokens.issue(grant, with_refresh=True)

    def token_body(self, tokens: TokenSet) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": tokens.access_token,
            "expires_in": tokens.expires_in,
            "refresh_token": tokens.refresh_token,
            "x_refresh_token_expires_in": tokens.refresh_expires_in,
        }
        if "openid" in tokens.grant.scope.split():
            now = int(self.clock.time())
            body["id_token"] = ".".join([
                _b64({"alg": "RS256", "kid": "tillbridge-emulator"}),
                _b64({"sub": "demo-user", "aud": [self.settings.client_id], "realmid": self.realm_id,
                      "iss": "https://oauth.platform.intuit.com/op/v1", "iat": now, "exp": now + 3600}),
                secrets.token_urlsafe(32),
            ])
        return body

    def revoke_token(self, token: str) -> None:
        grant = self.tokens.grant_of(token)
        if grant is not None:
            self.tokens.revoke_grant(grant.grant_id)

    async def wait_until_released(self) -> None:
        await wait_until(self._released.is_set)

    # --- Python API (thread-safe) -------------------------------------------------------------
    @property
    def realm_id(self) -> str:
        return self.company.realm_id

    def issue_token(self) -> dict[str, Any]:
        """Skip the browser: a token response for the company, plus ``realm_id``."""
        tokens = self.consent(self.settings.default_scope if ACCOUNTING_SCOPE in self.settings.default_scope
                              else f"{ACCOUNTING_SCOPE} {self.settings.default_scope}")
        return {**self.token_body(tokens), "realm_id": self.realm_id}

    def invoices(self) -> list[dict[str, Any]]:
        with self.lock:
            return [to_plain(r) for r in self.company.tables["Invoice"].values()]

    def customers(self) -> list[dict[str, Any]]:
        with self.lock:
            return [to_plain(r) for r in self.company.tables["Customer"].values()]

    def add_customer(self, display_name: str, **fields: Any) -> dict[str, Any]:
        with self.lock:
            return to_plain(write_customer(self.company, {"DisplayName": display_name, **fields}, self.clock.now()))

    def deactivate_customer(self, customer_id: str) -> None:
        """Mark a customer inactive (invoices referencing it then fail with 610)."""
        with self.lock:
            customer = self.company.get("Customer", customer_id)
            if customer is None:
                raise KeyError(customer_id)
            write_customer(self.company, {"Id": customer["Id"], "SyncToken": customer["SyncToken"],
                                          "sparse": True, "Active": False}, self.clock.now())

    def revoke_all_tokens(self) -> None:
        self.tokens.revoke_all()

    def minute_remaining(self) -> int:
        return max(0, self.minute_counter.peek(self.realm_id, self.settings.per_minute).remaining)

    def in_flight(self) -> int:
        return self.limiter.gauge.current(f"{self.settings.client_id}:{self.realm_id}")

    def hold_requests(self) -> None:
        """Admitted API requests wait (counted in flight) until ``release_requests()``."""
        self._released.clear()

    def release_requests(self) -> None:
        self._released.set()
