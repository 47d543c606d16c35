"""Options of the QuickBooks Online emulator (``QuickBooksEmulator(options={...})``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAY = 86_400.0


@dataclass
class QboSettings:
    client_id: str = "tillbridge-qbo-demo"
    client_secret: str = "demo-qbo-secret"
    #: The company id; None draws a 16-digit id from the emulator's seed.
    realm_id: str | None = None
    company_name: str = "Demo Retail Pty Ltd"
    country: str = "AU"
    currency: str = "AUD"
    currency_name: str = "Australian Dollar"
    #: Access tokens live an hour, refresh tokens 100 days
    #: (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0).
    access_token_ttl: float = 3600.0
    refresh_ttl: float = 100 * DAY
    #: How long a refresh token still works after it was rotated. Intuit says "always store the
    #: latest" without a grace figure, so the strict reading (0) is the default.
    refresh_grace: float = 0.0
    #: 500 requests per minute per realm, 10 concurrent per app and realm
    #: (https://blogs.intuit.com/2016/08/08/idg-concurrent-api-use-changes-coming-soon).
    per_minute: int = 500
    concurrent: int = 10
    #: Minor versions 1–74 are unsupported since 1 Aug 2025
    #: (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions).
    minimum_minorversion: int = 75
    #: "reject": a lower minorversion is a 400 ValidationFault (what tillbridge wants clients to
    #: notice); "ignore": served as 75, which is what Intuit's Jan 2025 blog post announced.
    minorversion_policy: str = "reject"
    #: Refuse requests without ``minorversion`` (Intuit defaults them to 75, so False).
    require_minorversion: bool = False
    #: Business-rule ValidationFaults of writes arrive inside HTTP 200
    #: (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors:
    #: "A Fault can arrive inside an HTTP 200"); False answers them with 400.
    faults_in_200: bool = True
    #: Seconds a ``requestid`` is remembered; None keeps it for the emulator's life (Intuit
    #: documents no expiry).
    requestid_window: float | None = None
    #: Send ``Retry-After`` on 429 (Intuit documents none, so off by default).
    retry_after_header: bool = False
    #: Number invoices 1001, 1002... when ``DocNumber`` is omitted (QuickBooks' default when
    #: custom transaction numbers are off).
    auto_doc_number: bool = True
    #: Days from TxnDate to the default DueDate (the company's default terms).
    default_terms_days: int = 30
    #: Registered redirect URIs; None accepts any loopback URI.
    redirect_uris: list[str] | None = None
    default_scope: str = "com.intuit.quickbooks.accounting openid"
    #: Extra seeded catalogue rows: lists of dicts merged over the defaults by Id.
    items: list[dict[str, Any]] | None = None
    accounts: list[dict[str, Any]] | None = None
    tax_codes: list[dict[str, Any]] | None = None
    #: Tax rates the extra tax codes point at (a code's ``TaxRateRef`` must name a seeded rate).
    tax_rates: list[dict[str, Any]] | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "QboSettings":
        known = set(cls.__dataclass_fields__)
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown QuickBooks emulator option(s): {', '.join(sorted(unknown))}")
        settings = cls(**options)
        if settings.minorversion_policy not in {"reject", "ignore"}:
            raise ValueError("minorversion_policy must be 'reject' or 'ignore'")
        return settings
