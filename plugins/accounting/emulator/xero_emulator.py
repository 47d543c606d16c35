"""``XeroEmulator``: Xero identity + Accounting API on one host, with a Python API for tests.

One emulator answers the paths of login.xero.com (``/identity/connect/authorize``),
identity.xero.com (``/connect/token``, ``/connect/revocation``) and api.xero.com
(``/connections``, ``/api.xro/2.0/...``). Point a client's three base URLs at it.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.routing import BaseRoute

from tillbridge.emulation import Emulator, FixedWindowCounter, Send

from ._http import dumps, to_plain
from .api_limits import Limiter, wait_until
from .oauth_tokens import Grant, TokenSet, TokenStore
from .response_cache import ResponseCache
from .xero_api_routes import api_routes
from .xero_batch import Journal
from .xero_identity_routes import identity_routes
from .xero_errors import problem_body
from .xero_invoices import InvoiceWrite, write_invoice
from .xero_render import render_contact, render_invoice
from .xero_settings import XeroSettings
from .xero_state import XeroConnection, XeroTenant, make_account, make_tax_rate


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


class XeroEmulator(Emulator):
    name = "xero"
    title = "Xero Accounting API and identity (OAuth 2.0, connections, invoices, contacts)"

    # --- lifecycle -----------------------------------------------------------------------------
    def setup(self) -> None:
        self.settings = XeroSettings.from_options(self.options)
        s = self.settings
        self.tenants: dict[str, XeroTenant] = {}
        self.connections: dict[str, XeroConnection] = {}
        self.tokens = TokenStore(
            self.clock, access_ttl=s.access_token_ttl, refresh_ttl=s.refresh_idle_expiry,
            refresh_grace=s.refresh_grace, access_format=self._access_jwt, new_grant_id=self.new_id,
        )
        self.idempotency = ResponseCache(self.clock, s.idempotency_window)
        self.limiter = Limiter(self.clock)
        self.minute_counter = FixedWindowCounter(self.clock, 60.0)
        self.day_counter = FixedWindowCounter(self.clock, 86_400.0)
        self._released = threading.Event()
        self._released.set()
        now = self.clock.now()
        for spec in s.tenants:
            tenant = XeroTenant(self.new_id(), str(spec.get("name", "Demo Company")), now, s.base_currency)
            for raw in spec.get("accounts", s.accounts):
                account = make_account(raw, self.new_id(), now, s.base_currency)
                tenant.accounts[account["Code"]] = account
            for raw in spec.get("tax_rates", s.tax_rates):
                rate = make_tax_rate(raw)
                tenant.tax_rates[rate["TaxType"]] = rate
            self.tenants[tenant.tenant_id] = tenant

    def routes(self) -> list[BaseRoute]:
        return [*identity_routes(self), *api_routes(self)]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tenants": [
                    {
                        "tenant_id": t.tenant_id,
                        "name": t.name,
                        "invoices": self.invoices(t.tenant_id),
                        "contacts": self.contacts(t.tenant_id),
                        "day_remaining": self.day_remaining(t.tenant_id),
                        "in_flight": self.in_flight(t.tenant_id),
                    }
                    for t in self.tenants.values()
                ],
                "connections": [
                    {"id": c.id, "tenantId": c.tenant_id, "authEventId": c.auth_event_id}
                    for c in self.connections.values()
                ],
                "tokens": self.tokens.counts(),
                "idempotency_keys": len(self.idempotency),
            }

    def credentials(self, base_url: str) -> dict[str, Any]:
        token = self.issue_token()
        return {
            "base_url": base_url,
            "identity_url": base_url,
            "api_url": f"{base_url}/api.xro/2.0",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
            "tenant_id": token["tenant_id"],
            "access_token": token["access_token"],
            "refresh_token": token["refresh_token"],
        }

    async def rate_limited(self, send: Send) -> None:
        """An injected burst answers like a real per-minute refusal (429 + Xero's headers)."""
        body = dumps(problem_body(429, "Too Many Requests", "Rate limit exceeded: minute"))
        await send({
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"), (b"x-rate-limit-problem", b"minute"),
            ],
        })
        await send({"type": "http.response.body", "body": body})

    # --- token formats ----------------------------------------------------------------------------
    def _access_jwt(self, grant: Grant, issued_at: float, expires_at: float) -> str:
        """Xero access tokens are JWTs (https://developer.xero.com/documentation/guides/oauth2/auth-flow). This one
        looks like one; it is not signed."""
        header = {"alg": "RS256", "kid": "tillbridge-emulator", "typ": "JWT"}
        payload = {
            "nbf": int(issued_at), "exp": int(expires_at), "iss": "https://identity.xero.com",
            "aud": "https://identity.xero.com/resources", "client_id": grant.client_id,
            "sub": grant.extra.get("user_id", ""), "auth_time": int(issued_at),
            "authentication_event_id": grant.grant_id, "jti": secrets.token_hex(16),
            "scope": grant.scope.split(),
        }
        return f"{_b64(header)}.{_b64(payload)}.{secrets.token_urlsafe(32)}"

    def id_token(self, grant: Grant) -> str:
        now = int(self.clock.time())
        payload = {"iss": "https://identity.xero.com", "aud": grant.client_id, "iat": now, "exp": now + 300,
                   "sub": grant.extra.get("user_id", ""), "email": "demo@tillbridge.invalid",
                   "given_name": "Demo", "family_name": "User"}
        return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(payload)}.{secrets.token_urlsafe(32)}"

    # --- consent and connections -----------------------------------------------------------------
    def authorise_consent(self, client_id: str, scope: str, pkce: bool = False,
                          tenants: list[str] | None = None) -> TokenSet:
        """What approving the consent screen does: a new auth event connecting the organisations
        picked on it (``None``: every organisation)."""
        grant = self.tokens.new_grant(client_id, scope, {"user_id": "demo-user", "pkce": pkce})
        now = self.clock.now()
        with self.lock:
            by_tenant = {c.tenant_id: c for c in self.connections.values()}
            for tenant_id in self.tenants if tenants is None else [t for t in tenants if t in self.tenants]:
                existing = by_tenant.get(tenant_id)
                if existing is not None:
                    # Re-authorising updates the connection (identity spec: updatedDateUtc).
                    existing.auth_event_id = grant.grant_id
                    existing.updated_at = now
                else:
                    conn = XeroConnection(self.new_id(), grant.grant_id, tenant_id, now, now)
                    self.connections[conn.id] = conn
        return self.tokens.issue(grant, with_refresh="offline_access" in scope.split())

    def connected_tenant(self, tenant_id: str) -> XeroTenant | None:
        with self.lock:
            if any(c.tenant_id == tenant_id for c in self.connections.values()):
                return self.tenants.get(tenant_id)
            return None

    def revoke_token(self, token: str) -> None:
        grant = self.tokens.grant_of(token)
        if grant is None:
            return
        self.tokens.revoke_grant(grant.grant_id)
        with self.lock:
            for conn_id in [c.id for c in self.connections.values() if c.auth_event_id == grant.grant_id]:
                del self.connections[conn_id]

    async def wait_until_released(self) -> None:
        await wait_until(self._released.is_set)

    # --- Python API (thread-safe) -------------------------------------------------------------
    def tenant_id(self, index: int = 0) -> str:
        with self.lock:
            return list(self.tenants)[index]

    def _tenant(self, tenant_id: str | None) -> XeroTenant:
        with self.lock:
            return self.tenants[tenant_id.lower()] if tenant_id else next(iter(self.tenants.values()))

    def issue_token(self, tenant_index: int = 0) -> dict[str, Any]:
        """Skip the browser: consent to every organisation and return the token response,
        plus ``tenant_id`` (the organisation at ``tenant_index``) for demo clients."""
        tokens = self.authorise_consent(self.settings.client_id, self.settings.default_scope)
        return {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_in": tokens.expires_in,
            "token_type": "Bearer",
            "scope": tokens.grant.scope,
            "tenant_id": self.tenant_id(tenant_index),
        }

    def invoices(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every invoice as the API renders it, plus ``SourceApp`` (the client id of the app that
        created it, or the other app's name)."""
        with self.lock:
            tenant = self._tenant(tenant_id)
            return [
                to_plain({**render_invoice(inv, tenant), "SourceApp": inv["SourceApp"]})
                for inv in tenant.invoices.values()
            ]

    def contacts(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            tenant = self._tenant(tenant_id)
            return [to_plain(render_contact(c)) for c in tenant.contacts.values()]

    def add_invoice_from_other_app(
        self, tenant_id: str | None, reference: str, total: Decimal, contact_name: str,
        app_name: str = "Lightspeed Retail",
    ) -> dict[str, Any]:
        """An AUTHORISED sales invoice posted by another app (e.g. Lightspeed's own Xero sync):
        one tax-inclusive line on account 200 totalling ``total``."""
        with self.lock:
            tenant = self._tenant(tenant_id)
            now = self.clock.now()
            ctx = InvoiceWrite(tenant, now, self.new_id, app_name, 2, tuple(self.settings.currencies), False)
            line = {"Description": f"Sale {reference}", "Quantity": "1", "UnitAmount": str(total),
                    "AccountCode": "200" if tenant.account("200") else next(iter(tenant.accounts))}
            data = {"Type": "ACCREC", "Contact": {"Name": contact_name}, "Reference": reference,
                    "Status": "AUTHORISED", "LineAmountTypes": "Inclusive", "LineItems": [line],
                    "DueDate": now.date().isoformat()}
            invoice_id = write_invoice(ctx, data, None, Journal())
            invoice = tenant.invoices[invoice_id]
            return to_plain({**render_invoice(invoice, tenant), "SourceApp": invoice["SourceApp"]})

    def archive_contact(self, contact_id: str) -> None:
        with self.lock:
            for tenant in self.tenants.values():
                contact = tenant.contacts.get(contact_id.lower())
                if contact is not None:
                    tenant.contacts[contact["ContactID"]] = dict(
                        contact, ContactStatus="ARCHIVED", UpdatedDateUTC=self.clock.now()
                    )
                    return
        raise KeyError(contact_id)

    def add_account(self, code: str, name: str, type: str = "REVENUE", tenant_id: str | None = None,
                    tax_type: str | None = None) -> dict[str, Any]:
        """Add an account to one organisation (or to all when ``tenant_id`` is None)."""
        raw: dict[str, Any] = {"Code": code, "Name": name, "Type": type}
        if tax_type:
            raw["TaxType"] = tax_type
        with self.lock:
            targets = [self._tenant(tenant_id)] if tenant_id else list(self.tenants.values())
            account: dict[str, Any] = {}
            for tenant in targets:
                account = make_account(raw, self.new_id(), self.clock.now(), tenant.base_currency)
                tenant.accounts[account["Code"]] = account
            return to_plain({k: v for k, v in account.items()})

    def revoke_all_tokens(self) -> None:
        """Every token stops working at once (as when the user disconnects the app)."""
        self.tokens.revoke_all()

    def day_remaining(self, tenant_id: str) -> int:
        return max(0, self.day_counter.peek(tenant_id.lower(), self.settings.per_day).remaining)

    def in_flight(self, tenant_id: str) -> int:
        return self.limiter.gauge.current(tenant_id.lower())

    def hold_requests(self) -> None:
        """Admitted API requests wait (still counted as in flight) until ``release_requests()``:
        lets a test fill the concurrency limit deterministically."""
        self._released.clear()

    def release_requests(self) -> None:
        self._released.set()

    def now(self) -> datetime:
        return self.clock.now()
