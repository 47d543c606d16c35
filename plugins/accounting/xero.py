"""The Xero connector: sales invoices (ACCREC) to one Xero organisation.

Facts followed (https://developer.xero.com/documentation/api/accounting/overview, xero_accounting.yaml):

* every Accounting API call carries ``xero-tenant-id``; tenants come from ``GET /connections``;
* invoices are created with ``PUT /Invoices?summarizeErrors=false`` in batches of up to 50 (Xero
  advises ~50 elements per request): the answer is 200 and each element says ``OK`` or ``ERROR``
  with its ``ValidationErrors``; ``unitdp=4`` keeps four-decimal unit prices;
* ``Idempotency-Key`` (≤128 characters) makes an HTTP retry of the same request safe;
* contacts are found by ``ContactNumber`` (the external system id), archived ones included, and
  created only when missing; an invoice then names only the ``ContactID``;
* ``InvoiceNumber`` is the inventory invoice number (unique per organisation, so Xero itself
  refuses a second copy) and ``Reference`` the POS sale number;
* ``X-DayLimit-Remaining`` / ``X-MinLimit-Remaining`` on every answer; 429 with
  ``X-Rate-Limit-Problem: day`` means the daily budget is spent.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, ClassVar, Mapping, Sequence

import httpx

from tillbridge import (
    AppRateLimit,
    AuthError,
    ConfigError,
    ConnectorContext,
    CredentialField,
    JsonCursor,
    Page,
    QuotaExhausted,
    RateLimited,
    RateLimitHeaders,
    RecordRejected,
    Tax,
    TillbridgeError,
    Unsupported,
    check_response,
    describe_transport_error,
    parse_retry_after,
)

from .oauth2 import REFRESH_LOCK, OAuth2Auth
from .provider import (
    AccountingConnector,
    Budget,
    DraftInvoice,
    Outcome,
    RemoteInvoice,
    to_decimal,
)
from .store_link import find_link
from .xero_contacts import XeroContacts, xero_quote
from .xero_payload import DEFAULT_ACCOUNT, XeroPayload

API_URL = "https://api.xero.com/api.xro/2.0"
IDENTITY_URL = "https://identity.xero.com"
LOGIN_URL = "https://login.xero.com"
API_SUFFIX = "/api.xro/2.0"
SCOPES = "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings"
LOOKUP_CHUNK = 40


def fix_for(messages: Sequence[str], draft: DraftInvoice) -> str | None:
    """What the person should do about Xero's validation messages (None: the generic advice)."""
    text = " ".join(messages).lower()
    again = f"then `tillbridge reimport --record {draft.number}`"
    if "account code" in text:
        return ("map the lines to an account that exists in Xero: `tillbridge accounting map-account default CODE` "
                f"(or per product/tax; codes are in Xero → Accounting → Chart of accounts), {again}")
    if "archived" in text:
        return (f"restore the contact {draft.contact.name!r} (number {draft.contact.code}) in Xero: Contacts → "
                f"Archived → Restore, {again}")
    if "taxtype" in text or "tax rate" in text:
        return f"map the inventory tax code to a Xero tax rate: `tillbridge accounting map-tax CODE TAXTYPE`, {again}"
    if "currency" in text:
        return f"add the currency {draft.currency} in Xero (Settings → Currencies), {again}"
    return None


class XeroConnector(XeroContacts, XeroPayload, AccountingConnector):
    """Plumbing, settings and invoices here; contacts in :mod:`.xero_contacts`, invoice JSON in
    :mod:`.xero_payload`."""

    system: ClassVar[str] = "xero"
    title: ClassVar[str] = "Xero"
    credential_fields = (
        CredentialField("client_id", "Client id", help="Your app at developer.xero.com → My Apps"),
        CredentialField("client_secret", "Client secret", secret=True),
        CredentialField("tenant_id", "Organisation (tenant) id", help="Chosen by `tillbridge connect xero`"),
        CredentialField("access_token", "Access token", secret=True, required=False),
        CredentialField("refresh_token", "Refresh token", secret=True),
        CredentialField("identity_url", "Identity base URL", required=False,
                        help=f"Token endpoint host (default {IDENTITY_URL}; an emulator's URL in tests)"),
    )
    manual_credentials: ClassVar[bool] = False  # connected with the "Connect" button (OAuth) only
    reads: ClassVar[frozenset[str]] = frozenset({"tax"})
    default_base_url: ClassVar[str] = API_URL
    max_page_size: ClassVar[int] = 100
    push_batch_size: ClassVar[int] = 50
    invoice_batch_size: ClassVar[int] = 50
    # Pace on the per-minute budget; the daily one is watched by the sender (defers the flow).
    rate_limit_headers: ClassVar[RateLimitHeaders | None] = RateLimitHeaders(
        remaining="X-MinLimit-Remaining", window_seconds=60.0, reserve=1)
    default_push_concurrency: ClassVar[int] = 5  # Xero allows 5 calls in flight (its documented limit)
    max_concurrency: ClassVar[int | None] = 5  # https://developer.xero.com/faq/limits: 5 calls in flight per tenant
    # 10,000 calls a minute per app, across every tenant (shared by all workers in distributed mode):
    # https://developer.xero.com/documentation/guides/oauth2/limits/
    app_rate_limits: ClassVar[tuple[AppRateLimit, ...]] = (AppRateLimit(10_000, 60),)
    default_headers: ClassVar[dict[str, str]] = {"Accept": "application/json"}
    emulator: ClassVar[str | None] = "xero"

    @classmethod
    def emulator_credentials(cls, emulator: Any, base_url: str) -> dict[str, Any]:
        """``base_url`` is the emulator's root; the API base is ``{root}/api.xro/2.0``."""
        values = super().emulator_credentials(emulator, base_url)
        values["expires_at"] = datetime.now(timezone.utc).timestamp() + 1800
        return values

    # "Connect Xero" in the console: the person logs in on Xero's page and picks the organisation.
    @classmethod
    def oauth_authorize_url(cls, base_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
        from .services import xero_authorize_url, xero_urls

        return xero_authorize_url(xero_urls(base_url)[2], client_id=client_id, redirect_uri=redirect_uri,
                                  state=state)

    @classmethod
    def oauth_exchange(cls, base_url: str, callback: Any, *, client_id: str, client_secret: str,
                       redirect_uri: str) -> tuple[str, dict[str, Any]]:
        from .services import xero_exchange, xero_urls

        api, identity, _login = xero_urls(base_url)
        values, _rows = xero_exchange(api, identity, callback, client_id=client_id, client_secret=client_secret,
                                      redirect_uri=redirect_uri)
        return api, values

    @classmethod
    def make_auth(cls, credentials: dict[str, Any], save_credentials: Callable[[dict[str, Any]], None]) -> httpx.Auth:
        identity = str(credentials.get("identity_url") or IDENTITY_URL).rstrip("/")
        return OAuth2Auth(credentials, save_credentials, token_url=f"{identity}/connect/token", provider="Xero")

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        self._contacts: dict[str, str] = {}
        self._tax_rates: dict[str, Decimal] | None = None
        self._accounts: dict[str, dict[str, Any]] | None = None
        self._tax_choice: dict[str, str] = {}
        self._budget = Budget(note="Xero allows 5,000 calls a day and 60 a minute per organisation")
        self._tenant_name: str | None = None
        link = find_link(context)
        if link is not None and isinstance(self.http.auth, OAuth2Auth):
            self.http.auth.bind(lambda: link.credentials(self.system),
                                link.lock(REFRESH_LOCK))

    # --- plumbing -------------------------------------------------------------------------------
    @property
    def api_root(self) -> str:
        """The host root (``/connections`` lives there); the base URL may be the root or the API."""
        base = self.context.base_url.rstrip("/")
        return base[: -len(API_SUFFIX)] if base.endswith(API_SUFFIX) else base

    def _path(self, path: str) -> str:
        return path if self.context.base_url.rstrip("/").endswith(API_SUFFIX) else f"{API_SUFFIX}{path}"

    def _request(self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None,
                 body: Any = None, headers: dict[str, str] | None = None, validation: bool = False) -> httpx.Response:
        """:meth:`request` to the organisation: its tenant header and the API prefix added.
        ``validation``: a 400 carrying Xero's per-element report comes back to be read."""
        tenant = self.context.credentials.get("tenant_id")
        if not tenant or not self.context.credentials.get("refresh_token") and not self.context.credentials.get(
                "access_token"):
            raise AuthError("Xero is not connected for this connection",
                            fix=f"run `tillbridge connect xero -c {self.context.connection}`")
        return self.request(method, self._path(path), what=what, params=params, json=body,
                            headers={"xero-tenant-id": str(tenant), **(headers or {})},
                            accept=_validation_report if validation else None)

    def classify(self, response: httpx.Response, *, what: str = "") -> TillbridgeError | None:
        """Notes the budget every answer carries; a 429 says which limit (the day's is a quota:
        no short wait helps); 401/403 quote Xero's reason."""
        self._observe(response)
        if response.status_code == 429:
            problem = response.headers.get("X-Rate-Limit-Problem", "").lower()
            wait = parse_retry_after(response.headers.get("Retry-After")) or 60.0
            if problem == "day":
                return QuotaExhausted(
                    "Xero's daily API limit for this organisation is used up: invoices wait for the reset",
                    status=429, fix="nothing to do: the next run after the reset sends them")
            return RateLimited(f"Xero rate limit reached ({problem or 'unknown limit'}) {what}; retry in {wait:.0f}s",
                               retry_after=wait)
        if response.status_code in (401, 403):
            return AuthError(f"Xero refused our access {what} (HTTP {response.status_code}: "
                             f"{_detail(response)})",
                             fix=f"connect the organisation again: `tillbridge connect xero -c {self.context.connection}`")
        return None

    def _observe(self, response: httpx.Response) -> None:
        day = response.headers.get("X-DayLimit-Remaining")
        minute = response.headers.get("X-MinLimit-Remaining")
        if day is None and minute is None:
            return
        with self._lock:
            self._budget = Budget(
                day_remaining=int(day) if day is not None and day.isdigit() else self._budget.day_remaining,
                minute_remaining=int(minute) if minute is not None and minute.isdigit() else None,
                seen_at=datetime.now(timezone.utc), note=self._budget.note)

    def budget(self) -> Budget:
        with self._lock:
            return self._budget

    # --- reads ----------------------------------------------------------------------------------
    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        """Xero's tax rates as :class:`~tillbridge.Tax` (``map-tax`` lists them). ``/TaxRates`` is
        not paged by Xero; pages are cut here so a caller's page size still holds."""
        if entity_type != "tax":
            raise Unsupported(f"Xero is an accounting target here; it reads only tax rates, not {entity_type}")
        body = self._request("GET", "/TaxRates", params={"order": "TaxType"}, what="reading tax rates").json()
        rows = sorted(body.get("TaxRates") or [], key=lambda t: str(t.get("TaxType")))
        offset = int(JsonCursor.load(cursor, offset=0)["offset"])
        size = self.context.page_size or self.max_page_size
        chunk = rows[offset:offset + size]
        more = offset + size < len(rows)
        records = [Tax(id=str(t["TaxType"]), code=str(t["TaxType"]), name=str(t.get("Name") or t["TaxType"]),
                       rate=Decimal(str(t.get("EffectiveRate", 0))) / 100) for t in chunk]
        return Page(records=records, cursor=JsonCursor.dump(offset=offset + size) if more else None, more=more)

    # --- identity -------------------------------------------------------------------------------
    def connections(self) -> list[dict[str, Any]]:
        """``GET /connections``: the organisations this authorisation reaches."""
        try:
            response = self.http.get(f"{self.api_root}/connections")
        except httpx.TransportError as exc:
            raise describe_transport_error(exc, "Xero", self.api_root) from None
        if response.status_code in (401, 403):
            raise AuthError(f"Xero refused our access token (HTTP {response.status_code})",
                            fix=f"connect again: `tillbridge connect xero -c {self.context.connection}`")
        check_response(response, "Xero", what="listing connected organisations")
        return list(response.json())

    def check(self) -> str:
        tenant = str(self.context.credentials.get("tenant_id") or "").lower()
        for row in self.connections():
            if str(row.get("tenantId", "")).lower() == tenant:
                self._tenant_name = row.get("tenantName")
                return f"Xero organisation {row.get('tenantName')!r}"
        raise AuthError(f"Xero organisation {tenant} is not connected to this app",
                        fix=f"run `tillbridge connect xero -c {self.context.connection}` and pick the organisation")

    def describe(self) -> str:
        if self._tenant_name is None:
            try:
                self.check()
            except Exception:  # status output must not fail on a name
                return "Xero"
        return f"Xero ({self._tenant_name})"

    # --- settings from Xero -----------------------------------------------------------------------
    def tax_rates(self) -> dict[str, Decimal]:
        """Active tax rates usable on sales: TaxType → rate in percent."""
        with self._lock:
            if self._tax_rates is not None:
                return self._tax_rates
        body = self._request("GET", "/TaxRates", what="reading tax rates").json()
        rates = {t["TaxType"]: Decimal(str(t.get("EffectiveRate", t.get("DisplayTaxRate", 0))))
                 for t in body.get("TaxRates") or []
                 if t.get("Status", "ACTIVE") == "ACTIVE" and t.get("CanApplyToRevenue", True)}
        with self._lock:
            self._tax_rates = rates
        return rates

    def accounts(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._accounts is not None:
                return self._accounts
        body = self._request("GET", "/Accounts", what="reading the chart of accounts").json()
        accounts = {str(a["Code"]).upper(): a for a in body.get("Accounts") or [] if a.get("Code")}
        with self._lock:
            self._accounts = accounts
        return accounts

    def refresh_budget(self) -> Budget:
        self._request("GET", "/TaxRates", params={"where": 'TaxType=="NONE"'}, what="reading the API budget")
        return self.budget()

    def check_account(self, code: str) -> None:
        account = self.accounts().get(code.strip().upper())
        if account is None or account.get("Status", "ACTIVE") != "ACTIVE":
            usable = ", ".join(f"{c} {a.get('Name', '')}" for c, a in sorted(self.accounts().items())
                               if a.get("Status", "ACTIVE") == "ACTIVE" and a.get("Type") in {"REVENUE", "SALES",
                                                                                              "OTHERINCOME"})
            raise ConfigError(f"Xero has no active account with code {code!r}",
                              fix=f"revenue accounts: {usable or 'none'} (or pass --no-check)")

    def account_options(self) -> list[tuple[str, str]]:
        return [(c, f"{c} {a.get('Name', '')}".strip()) for c, a in sorted(self.accounts().items())
                if a.get("Status", "ACTIVE") == "ACTIVE" and a.get("Type") in {"REVENUE", "SALES", "OTHERINCOME"}]

    def tax_options(self) -> list[tuple[str, str]]:
        return [(t, f"{t} ({rate.normalize():f}%)") for t, rate in sorted(self.tax_rates().items())]

    def check_tax(self, code: str) -> None:
        if code.strip().upper() not in self.tax_rates():
            raise ConfigError(f"Xero has no active sales tax rate {code!r}",
                              fix="tax types: " + ", ".join(sorted(self.tax_rates())) + " (or pass --no-check)")

    # --- invoices ---------------------------------------------------------------------------------
    def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        found: dict[str, RemoteInvoice] = {}
        wanted = {n.casefold(): n for n in numbers}
        unique = list(dict.fromkeys(numbers))
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start:start + LOOKUP_CHUNK]
            body = self._request("GET", "/Invoices", params={"InvoiceNumbers": ",".join(chunk)},
                                 what="looking invoices up by number").json()
            for row in body.get("Invoices") or []:
                ours = wanted.get(str(row.get("InvoiceNumber", "")).casefold())
                if ours is not None and row.get("Status") != "DELETED":
                    found[ours] = _remote(row)
        return found

    def create_invoices(self, drafts: Sequence[DraftInvoice], contacts: Mapping[str, str],
                        keys: Sequence[str]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(drafts)
        ready: list[tuple[int, dict[str, Any]]] = []
        for index, draft in enumerate(drafts):
            try:
                ready.append((index, self.invoice_json(draft, contacts[draft.contact.code])))
            except RecordRejected as exc:
                outcomes[index] = Outcome(draft.number, "rejected", messages=[exc.message], fix=exc.fix)
        if ready:
            key = batch_key([keys[i] for i, _ in ready])
            elements = self._put_invoices([j for _, j in ready], key)
            if elements is None:
                # The whole request was refused (a gateway that ignores summarizeErrors): send each
                # invoice alone so that one bad invoice does not hold the others back.
                elements = []
                for i, invoice in ready:
                    alone = self._put_invoices([invoice], batch_key([keys[i], "alone"]))
                    elements.extend(alone or [{"StatusAttributeString": "ERROR", "ValidationErrors": [
                        {"Message": "Xero refused the invoice without saying why"}]}])
            for (index, _), element in zip(ready, elements):
                outcomes[index] = self._outcome(drafts[index], element)
        return [o if o is not None else Outcome(d.number, "rejected", messages=["Xero did not answer for it"])
                for o, d in zip(outcomes, drafts)]

    def _put_invoices(self, invoices: list[dict[str, Any]], key: str) -> list[dict[str, Any]] | None:
        response = self._request("PUT", "/Invoices", params={"summarizeErrors": "false", "unitdp": "4"},
                                 body={"Invoices": invoices}, headers={"Idempotency-Key": key},
                                 what="sending invoices", validation=True)
        body = _json(response)
        if response.status_code == 400:
            if len(invoices) > 1:
                return None
            element = (body.get("Elements") or [{}])[0]
            element.setdefault("StatusAttributeString", "ERROR")
            return [element]
        return list(body.get("Invoices") or [])

    def _outcome(self, draft: DraftInvoice, element: dict[str, Any]) -> Outcome:
        errors = [str(v.get("Message", "")) for v in element.get("ValidationErrors") or []]
        failed = element.get("StatusAttributeString") == "ERROR" or element.get("HasErrors") or not element.get(
            "InvoiceID") or element.get("InvoiceID") == "00000000-0000-0000-0000-000000000000"
        if not failed:
            return Outcome(draft.number, "sent", remote=_remote(element))
        if any("must be unique" in m for m in errors):
            return Outcome(draft.number, "duplicate", messages=errors)
        return Outcome(draft.number, "rejected", messages=errors or ["Xero refused the invoice"],
                       fix=fix_for(errors, draft))

    # --- the double-posting check -------------------------------------------------------------------
    def invoices_referencing(self, references: Sequence[str], since: datetime) -> list[RemoteInvoice]:
        wanted = {r.casefold() for r in references}
        mine = {r.id for r in self._invoices_since(since, mine_only=True)}
        out = []
        for remote in self._invoices_since(since, mine_only=False):
            if (remote.reference or "").casefold() in wanted or remote.number.casefold() in wanted:
                out.append(RemoteInvoice(remote.id, remote.number, remote.reference, remote.total, remote.status,
                                         mine=remote.id in mine))
        return out

    def _invoices_since(self, since: datetime, *, mine_only: bool) -> list[RemoteInvoice]:
        found: list[RemoteInvoice] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "where": 'Type=="ACCREC"', "summaryOnly": "true"}
            if mine_only:
                params["createdByMyApp"] = "true"
            body = self._request("GET", "/Invoices", params=params, what="listing invoices",
                                 headers={"If-Modified-Since": since.astimezone(timezone.utc).strftime(
                                     "%Y-%m-%dT%H:%M:%S")}).json()
            rows = body.get("Invoices") or []
            found.extend(_remote(r) for r in rows)
            if len(rows) < self.max_page_size:
                return found
            page += 1


def batch_key(keys: Sequence[str]) -> str:
    """One Idempotency-Key for a batch request, derived from its invoices' attempt keys."""
    return hashlib.sha256("|".join(keys).encode()).hexdigest()



def _remote(row: dict[str, Any]) -> RemoteInvoice:
    return RemoteInvoice(id=str(row["InvoiceID"]), number=str(row.get("InvoiceNumber") or ""),
                         reference=row.get("Reference"), total=to_decimal(row.get("Total")), status=row.get("Status"))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _validation_report(response: httpx.Response) -> bool:
    return response.status_code == 400 and _json(response).get("Elements") is not None


def _detail(response: httpx.Response) -> str:
    body = _json(response)
    return str(body.get("Detail") or body.get("Message") or body.get("Title") or response.reason_phrase)


__all__ = ["DEFAULT_ACCOUNT", "IDENTITY_URL", "LOGIN_URL", "SCOPES", "XeroConnector", "batch_key", "xero_quote"]
