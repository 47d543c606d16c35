"""Options of the Xero emulator (``XeroEmulator(options={...})``) with the documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .xero_state import DEFAULT_ACCOUNTS, DEFAULT_TAX_RATES

DAY = 86_400.0
DEFAULT_SCOPE = "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings"


@dataclass
class XeroSettings:
    client_id: str = "tillbridge-xero-demo"
    client_secret: str = "demo-xero-secret"
    tenants: list[dict[str, Any]] = field(default_factory=lambda: [{"name": "Demo Retail Ltd"}])
    #: Access tokens live 30 minutes
    #: (https://developer.xero.com/documentation/guides/oauth2/auth-flow: ``expires_in`` 1800).
    access_token_ttl: float = 1800.0
    #: A rotated refresh token keeps working this long
    #: (https://developer.xero.com/documentation/guides/oauth2/auth-flow: 30-minute grace).
    refresh_grace: float = 1800.0
    #: An unused refresh token expires after 60 days (https://developer.xero.com/documentation/guides/oauth2/auth-flow:
    #: 60 d current, 30 d historical).
    refresh_idle_expiry: float = 60 * DAY
    #: Idempotency-Key responses are replayed for ~6 minutes
    #: (https://developer.xero.com/documentation/guides/idempotent-requests/idempotency).
    idempotency_window: float = 360.0
    #: Xero FAQ limits (https://developer.xero.com/faq/limits).
    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10_000
    accounts: list[dict[str, Any]] = field(default_factory=lambda: [dict(a) for a in DEFAULT_ACCOUNTS])
    tax_rates: list[dict[str, Any]] = field(default_factory=lambda: [dict(t) for t in DEFAULT_TAX_RATES])
    base_currency: str = "NZD"
    #: Currencies the organisation is subscribed to; the base currency first.
    currencies: list[str] = field(default_factory=list)
    #: Registered redirect URIs; None accepts any loopback URI (demo mode).
    redirect_uris: list[str] | None = None
    #: ``ProviderName`` in response envelopes: the app's name as registered with Xero.
    app_name: str = "Tillbridge Demo"
    #: SUBMITTED/AUTHORISED invoices need a DueDate (https://developer.xero.com/documentation/api/accounting/invoices
    #: invoice fields, [secondary]).
    require_due_date_when_approved: bool = True
    #: Real Xero omits line items from unpaged invoice lists; True includes them anyway.
    unpaged_line_items: bool = False
    #: Refuse API calls whose consent lacks the API's scope (403).
    enforce_scopes: bool = True
    #: Scope granted by ``issue_token()``.
    default_scope: str = DEFAULT_SCOPE

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "XeroSettings":
        values = dict(options)
        limits = values.pop("limits", None) or {}
        values.update(limits)
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown Xero emulator option(s): {', '.join(sorted(unknown))}")
        settings = cls(**values)
        settings.base_currency = settings.base_currency.upper()
        currencies = [c.upper() for c in settings.currencies if c.upper() != settings.base_currency]
        settings.currencies = [settings.base_currency, *currencies]
        if not settings.tenants:
            raise ValueError("the Xero emulator needs at least one tenant")
        return settings
