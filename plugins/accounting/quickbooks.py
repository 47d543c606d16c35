"""The QuickBooks Online connector: sales invoices to one company (realm).

Facts followed
(https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions):

* ``/v3/company/{realmId}/...`` with ``minorversion`` ≥ 75 on every call (1–74 retired);
* ``POST .../invoice?requestid=…``: a repeat with the same ``requestid`` (≤50 characters) returns
  the first answer instead of creating again; one invoice per request (no batch here);
* errors are ``{"Fault": {"Error": [{Message, Detail, code, element}], "type"}}`` and a
  ValidationFault can arrive **inside an HTTP 200**: every answer is checked for ``Fault``;
* ``DocNumber`` (≤21) is the inventory invoice number: unique in the company (6140 otherwise),
  our look-up key after a crash; the POS sale number goes in ``PrivateNote``;
* QuickBooks computes tax per tax code on the line amounts; when that differs from the
  inventory system's tax by rounding, a zero-rated "Tax rounding" line makes ``TotalAmt`` equal
  the inventory total to the cent;
* customers have no external-number field the query language can filter on, so they are found
  by ``DisplayName`` (inactive ones included, so an invoice against one is reported, not
  silently given a second customer) and created when missing.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, ClassVar, Mapping, Sequence

import httpx

from tillbridge import (
    AuthError,
    ConfigError,
    ConnectorContext,
    CredentialField,
    JsonCursor,
    Page,
    RateLimited,
    RecordRejected,
    RemoteError,
    Tax,
    TillbridgeError,
    TransientError,
    Unsupported,
    parse_retry_after,
)

from .drafts import cents, rate_fits
from .oauth2 import REFRESH_LOCK, OAuth2Auth
from .provider import (
    AccountingConnector,
    Budget,
    DraftInvoice,
    DraftLine,
    Outcome,
    OutcomeStatus,
    RemoteInvoice,
    money,
    to_decimal,
)
from .quickbooks_customers import QboCustomers, QboFault, qbo_quote
from .store_link import find_link

API_URL = "https://quickbooks.api.intuit.com"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
SCOPES = "com.intuit.quickbooks.accounting"
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions: minor
# versions 1–74 unsupported from 1 Aug 2025
MINOR_VERSION = 75
DOC_NUMBER_MAX = 21
LOOKUP_CHUNK = 30


def fix_for(fault: QboFault, draft: DraftInvoice) -> str | None:
    again = f"then `tillbridge reimport --record {draft.number}`"
    element = fault.element.lower()
    if fault.code == "610" and "customer" in element:
        return (f"make the customer {draft.contact.name!r} active again in QuickBooks (Customers → filter "
                f"Inactive → Make active), {again}")
    if "itemref" in element or "item" in " ".join(fault.messages).lower() and fault.code in {"2500", "610"}:
        return (f"map the lines to an item that exists in QuickBooks: `tillbridge accounting map-account default "
                f"ITEM`, {again}")
    if "taxcode" in element or "tax code" in " ".join(fault.messages).lower():
        return f"map the inventory tax code to a QuickBooks tax code: `tillbridge accounting map-tax CODE QBCODE`, {again}"
    return None


class QuickBooksConnector(QboCustomers, AccountingConnector):
    system: ClassVar[str] = "quickbooks"
    title: ClassVar[str] = "QuickBooks Online"
    message_name: ClassVar[str | None] = "QuickBooks"
    credential_fields = (
        CredentialField("client_id", "Client id", help="developer.intuit.com → your app → Keys & credentials"),
        CredentialField("client_secret", "Client secret", secret=True),
        CredentialField("realm_id", "Company (realm) id", help="Set by `tillbridge connect quickbooks`"),
        CredentialField("access_token", "Access token", secret=True, required=False),
        CredentialField("refresh_token", "Refresh token", secret=True),
        CredentialField("token_url", "Token endpoint", required=False, help=f"Default {TOKEN_URL}"),
        CredentialField("minorversion", "API minor version", required=False, help=f"Default {MINOR_VERSION}"),
    )
    manual_credentials: ClassVar[bool] = False  # connected with the "Connect" button (OAuth) only
    reads: ClassVar[frozenset[str]] = frozenset({"tax"})
    default_base_url: ClassVar[str] = API_URL
    max_page_size: ClassVar[int] = 1000
    push_batch_size: ClassVar[int] = 30
    invoice_batch_size: ClassVar[int] = 1
    default_push_concurrency: ClassVar[int] = 5  # conservative: QuickBooks allows 10 in flight
    # https://blogs.intuit.com/2016/08/08/idg-concurrent-api-use-changes-coming-soon: 10 concurrent per app and realm
    max_concurrency: ClassVar[int | None] = 10
    default_headers: ClassVar[dict[str, str]] = {"Accept": "application/json"}
    emulator: ClassVar[str | None] = "quickbooks"

    @classmethod
    def emulator_credentials(cls, emulator: Any, base_url: str) -> dict[str, Any]:
        values = super().emulator_credentials(emulator, base_url)
        values["token_url"] = f"{base_url.rstrip('/')}/oauth2/v1/tokens/bearer"
        values["expires_at"] = datetime.now(timezone.utc).timestamp() + 3600
        return values

    # "Connect QuickBooks" in the console: the company picked on Intuit's page comes back as realmId.
    @classmethod
    def oauth_authorize_url(cls, base_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
        from .services import quickbooks_authorize_url, quickbooks_urls

        return quickbooks_authorize_url(quickbooks_urls(base_url)[2], client_id=client_id,
                                        redirect_uri=redirect_uri, state=state)

    @classmethod
    def oauth_exchange(cls, base_url: str, callback: Any, *, client_id: str, client_secret: str,
                       redirect_uri: str) -> tuple[str, dict[str, Any]]:
        from .services import quickbooks_exchange, quickbooks_urls

        api, token, _authorize = quickbooks_urls(base_url)
        return api, quickbooks_exchange(token, callback, client_id=client_id, client_secret=client_secret,
                                        redirect_uri=redirect_uri)

    @classmethod
    def make_auth(cls, credentials: dict[str, Any], save_credentials: Callable[[dict[str, Any]], None]) -> httpx.Auth:
        return OAuth2Auth(credentials, save_credentials, token_url=str(credentials.get("token_url") or TOKEN_URL),
                          provider="QuickBooks")

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        self._customers: dict[str, str] = {}
        self._tax_codes: dict[str, tuple[str, Decimal]] | None = None
        self._items: dict[str, str] | None = None
        self._tax_choice: dict[str, str] = {}
        self._last_seen: datetime | None = None
        link = find_link(context)
        self._link = link
        if link is not None and isinstance(self.http.auth, OAuth2Auth):
            self.http.auth.bind(lambda: link.credentials(self.system),
                                link.lock(REFRESH_LOCK))

    # --- plumbing -------------------------------------------------------------------------------
    @property
    def realm(self) -> str:
        realm = self.context.credentials.get("realm_id")
        if not realm:
            raise AuthError("QuickBooks is not connected for this connection",
                            fix=f"run `tillbridge connect quickbooks -c {self.context.connection}`")
        return str(realm)

    def _call(self, method: str, path: str, *, what: str, params: dict[str, Any] | None = None,
              body: Any = None) -> dict[str, Any]:
        """One API call to the company; returns the JSON body or raises (a ``Fault`` raises
        :class:`QboFault`, see :meth:`classify`)."""
        query = {"minorversion": str(self.context.credentials.get("minorversion") or MINOR_VERSION), **(params or {})}
        response = self.request(method, f"/v3/company/{self.realm}{path}", what=what, params=query, json=body)
        data = _body(response)
        return data if isinstance(data, dict) else {}

    def classify(self, response: httpx.Response, *, what: str = "") -> TillbridgeError | None:
        """QuickBooks reports in a ``Fault`` body, inside a 200 too: a throttle (code 3001), an
        auth or system fault, or a refusal of the request (:class:`QboFault`). Every error answer
        is read here (the common mapping would quote the raw body)."""
        self._last_seen = datetime.now(timezone.utc)
        data = _body(response)
        fault = data.get("Fault") if isinstance(data, dict) else None
        if response.status_code == 429 or (fault and str((fault.get("Error") or [{}])[0].get("code")) == "3001"):
            wait = parse_retry_after(response.headers.get("Retry-After")) or 60.0
            return RateLimited(f"QuickBooks rate limit reached {what}; retry in {wait:.0f}s", retry_after=wait)
        if response.status_code in (401, 403) or (fault and fault.get("type") in ("AuthenticationFault",
                                                                                  "AuthorizationFault")):
            return AuthError(f"QuickBooks refused our access {what} (HTTP {response.status_code})",
                             fix=f"connect the company again: `tillbridge connect quickbooks -c {self.context.connection}`")
        if response.status_code >= 500 or (fault and fault.get("type") == "SystemFault"):
            return TransientError(f"QuickBooks had a server error {what} (HTTP {response.status_code})",
                                  status=response.status_code)
        if fault:
            return QboFault(fault, response.status_code)
        if response.status_code >= 400:
            return RemoteError(f"QuickBooks refused the request {what} (HTTP {response.status_code})",
                               status=response.status_code)
        return None

    def query(self, text: str, what: str) -> list[dict[str, Any]]:
        data = self._call("GET", "/query", params={"query": text}, what=what)
        response = data.get("QueryResponse") or {}
        entity = text.split()[3] if len(text.split()) > 3 else ""
        for key, rows in response.items():
            if key.lower() == entity.lower() and isinstance(rows, list):
                return rows
        return []

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        """The company's tax codes as :class:`~tillbridge.Tax` (rate of their sales tax rate)."""
        if entity_type != "tax":
            raise Unsupported(f"QuickBooks is an accounting target here; it reads only tax codes, not {entity_type}")
        start = int(JsonCursor.load(cursor, start=1)["start"])
        size = self.context.page_size or self.max_page_size
        rates = {r["Id"]: Decimal(str(r.get("RateValue", 0)))
                 for r in self.query("select * from TaxRate MAXRESULTS 1000", "reading tax rates")}
        rows = self.query(f"select * from TaxCode ORDERBY Id STARTPOSITION {start} MAXRESULTS {size}",
                          "reading tax codes")
        records = []
        for row in rows:
            details = ((row.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or [{}]
            rate_id = str((details[0].get("TaxRateRef") or {}).get("value", ""))
            records.append(Tax(id=str(row["Id"]), code=str(row.get("Name") or row["Id"]),
                               name=str(row.get("Description") or row.get("Name") or ""),
                               rate=rates.get(rate_id, Decimal(0)) / 100))
        more = len(rows) == size
        return Page(records=records, cursor=JsonCursor.dump(start=start + size) if more else None, more=more)

    def budget(self) -> Budget:
        return Budget(seen_at=self._last_seen,
                      note="QuickBooks allows 500 requests a minute per company and has no daily limit")

    def check(self) -> str:
        data = self._call("GET", f"/companyinfo/{self.realm}", what="reading the company")
        name = (data.get("CompanyInfo") or {}).get("CompanyName", self.realm)
        return f"QuickBooks company {name!r}"

    def describe(self) -> str:
        try:
            return self.check().replace("QuickBooks company", "QuickBooks Online")
        except Exception:  # status output must not fail on a name
            return "QuickBooks Online"

    # --- catalogue --------------------------------------------------------------------------------
    def tax_codes(self) -> dict[str, tuple[str, Decimal]]:
        """Active tax codes: Id → (Name, sales rate in percent)."""
        with self._lock:
            if self._tax_codes is not None:
                return self._tax_codes
        rates = {r["Id"]: Decimal(str(r.get("RateValue", 0)))
                 for r in self.query("select * from TaxRate MAXRESULTS 1000", "reading tax rates")}
        codes: dict[str, tuple[str, Decimal]] = {}
        for code in self.query("select * from TaxCode MAXRESULTS 1000", "reading tax codes"):
            details = ((code.get("SalesTaxRateList") or {}).get("TaxRateDetail")) or []
            if not details:
                continue
            rate_id = str(details[0]["TaxRateRef"]["value"])
            codes[str(code["Id"])] = (str(code.get("Name", "")), rates.get(rate_id, Decimal(0)))
        with self._lock:
            self._tax_codes = codes
        return codes

    def items(self) -> dict[str, str]:
        """Item name (case-folded) → Id."""
        with self._lock:
            if self._items is not None:
                return self._items
        items = {str(i.get("Name", "")).casefold(): str(i["Id"])
                 for i in self.query("select * from Item MAXRESULTS 1000", "reading items")}
        with self._lock:
            self._items = items
        return items

    def _item_ref(self, account: str | None) -> str | None:
        if not account:
            return None  # QuickBooks books such a line on its default "Services" item
        if account.isdigit():
            return account
        # An unknown name goes out as is: QuickBooks' own "Invalid Reference Id" reaches the log.
        return self.items().get(account.casefold(), account)

    def _tax_code_ref(self, value: str) -> str:
        if value.isdigit():
            return value
        by_name = {name.casefold(): code_id for code_id, (name, _) in self.tax_codes().items()}
        return by_name.get(value.casefold(), value)

    def check_account(self, code: str) -> None:
        items = self.items()
        if code.casefold() not in items and code not in items.values():
            raise ConfigError(f"QuickBooks has no active item {code!r} (QuickBooks books lines on items)",
                              fix="items: " + ", ".join(sorted(items)) + " (or pass --no-check)")

    def account_options(self) -> list[tuple[str, str]]:
        names = {str(i.get("Name", "")).casefold(): str(i.get("Name", ""))
                 for i in self.query("select * from Item MAXRESULTS 1000", "reading items")}
        return sorted((n, n) for n in names.values() if n)

    def tax_options(self) -> list[tuple[str, str]]:
        return sorted((name, f"{name} ({rate.normalize():f}%)") for name, rate in self.tax_codes().values())

    def check_tax(self, code: str) -> None:
        codes = self.tax_codes()
        if code not in codes and code.casefold() not in {name.casefold() for name, _ in codes.values()}:
            raise ConfigError(f"QuickBooks has no active tax code {code!r}",
                              fix="tax codes: " + ", ".join(sorted(n for n, _ in codes.values())) +
                                  " (or pass --no-check)")

    # --- invoices ---------------------------------------------------------------------------------
    def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        found: dict[str, RemoteInvoice] = {}
        unique = list(dict.fromkeys(numbers))
        for start in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[start:start + LOOKUP_CHUNK]
            rows = self.query(f"select * from Invoice where DocNumber in ({', '.join(qbo_quote(n) for n in chunk)}) "
                              "MAXRESULTS 1000", "looking invoices up by number")
            for row in rows:
                if row.get("DocNumber") in chunk:
                    found[row["DocNumber"]] = _remote(row)
        return found

    def create_invoices(self, drafts: Sequence[DraftInvoice], contacts: Mapping[str, str],
                        keys: Sequence[str]) -> list[Outcome]:
        outcomes = []
        for draft, key in zip(drafts, keys):
            try:
                body = self.invoice_json(draft, contacts[draft.contact.code])
            except RecordRejected as exc:
                outcomes.append(Outcome(draft.number, "rejected", messages=[exc.message], fix=exc.fix))
                continue
            try:
                data = self._call("POST", "/invoice", params={"requestid": key}, body=body, what="creating an invoice")
            except QboFault as fault:
                status: OutcomeStatus = "duplicate" if fault.code == "6140" else "rejected"
                messages = [f"{m} (code {fault.code}{', ' + fault.element if fault.element else ''})"
                            for m in fault.messages]
                outcomes.append(Outcome(draft.number, status, messages=messages, fix=fix_for(fault, draft)))
                continue
            outcomes.append(Outcome(draft.number, "sent", remote=_remote(data.get("Invoice") or {})))
        return outcomes

    def invoice_json(self, draft: DraftInvoice, customer_id: str) -> dict[str, Any]:
        if len(draft.number) > DOC_NUMBER_MAX:
            raise RecordRejected(f"invoice number {draft.number} is longer than QuickBooks' {DOC_NUMBER_MAX} characters",
                                 key=draft.number, fix="shorten the inventory system's invoice prefix")
        codes = self.tax_codes()
        lines: list[dict[str, Any]] = []
        bases: dict[str, Decimal] = {}
        for line in draft.lines:
            code = self._tax_for(line, draft)
            bases[code] = bases.get(code, Decimal(0)) + line.amount
            lines.append(self._line_json(line, line.description, code))
        computed = sum((cents(base * codes.get(code, ("", Decimal(0)))[1] / 100) for code, base in bases.items()),
                       Decimal(0))
        gap = draft.tax_total - computed
        if gap:
            zero = next((cid for cid, (_, rate) in codes.items() if rate == 0), None)
            if zero is None:
                raise RecordRejected(
                    f"QuickBooks' tax on invoice {draft.number} would differ by {gap} and there is no zero-rated tax "
                    "code to carry the difference", key=draft.number,
                    fix="add a 0 % tax code in QuickBooks, then `tillbridge reimport`")
            rounding = DraftLine(description=f"Tax rounding (the inventory invoice's tax is {draft.tax_total})",
                                 quantity=Decimal(1), unit_price=gap, discount_percent=Decimal(0), amount=gap,
                                 tax_amount=Decimal(0), tax_code=None, product_code=None, account=None, tax_type=None)
            lines.append(self._line_json(rounding, rounding.description, zero))
        invoice: dict[str, Any] = {
            "CustomerRef": {"value": customer_id}, "DocNumber": draft.number, "TxnDate": draft.date.isoformat(),
            "DueDate": draft.due_date.isoformat(), "GlobalTaxCalculation": "TaxExcluded", "Line": lines,
        }
        if draft.reference:
            invoice["PrivateNote"] = draft.reference
        return invoice

    def _line_json(self, line: DraftLine, description: str, tax_code: str) -> dict[str, Any]:
        detail: dict[str, Any] = {"Qty": money(line.quantity), "TaxCodeRef": {"value": tax_code}}
        item = self._item_ref(line.account)
        if item:
            detail["ItemRef"] = {"value": item}
        # QuickBooks checks Amount = Qty × UnitPrice; with a line discount or a long price the
        # unit price is left out and QuickBooks derives it from the amount.
        if line.quantity > 0 and not line.discount_percent and cents(line.quantity * line.unit_price) == line.amount:
            detail["UnitPrice"] = money(line.unit_price)
        return {"DetailType": "SalesItemLineDetail", "Amount": money(line.amount), "Description": description[:4000],
                "SalesItemLineDetail": detail}

    def _tax_for(self, line: DraftLine, draft: DraftInvoice) -> str:
        codes = self.tax_codes()
        if line.tax_type:
            return self._tax_code_ref(line.tax_type)
        if line.tax_code is None:
            zero = next((cid for cid, (_, rate) in codes.items() if rate == 0), None)
            if zero is not None:
                return zero
        key = line.tax_code or ""
        if key in self._tax_choice:
            return self._tax_choice[key]
        same = [ln for ln in draft.lines if ln.tax_code == line.tax_code]
        best = rate_fits(same, {cid: rate for cid, (_, rate) in codes.items()})
        if len(best) != 1:
            names = ", ".join(codes[m][0] for m in best) or "none"
            raise RecordRejected(
                f"cannot tell which QuickBooks tax code fits inventory tax code {line.tax_code} (fitting: {names})",
                key=draft.number,
                fix=f"map it: `tillbridge accounting map-tax {line.tax_code} QBCODE`, then `tillbridge reimport "
                    f"--record {draft.number}`")
        if abs(sum((ln.amount for ln in same), Decimal(0))) >= 1:
            self._tax_choice[key] = best[0]
        return best[0]

    def invoices_referencing(self, references: Sequence[str], since: datetime) -> list[RemoteInvoice]:
        """Invoices whose number is one of ``references`` (POS sale numbers): how an app that posts
        sales itself numbers them. Which app made them QuickBooks does not say (``mine`` unknown)."""
        found: list[RemoteInvoice] = []
        refs = list(dict.fromkeys(references))
        for start in range(0, len(refs), LOOKUP_CHUNK):
            chunk = refs[start:start + LOOKUP_CHUNK]
            rows = self.query(f"select * from Invoice where DocNumber in ({', '.join(qbo_quote(n) for n in chunk)}) "
                              "MAXRESULTS 1000", "looking for invoices of other apps")
            found.extend(_remote(r) for r in rows)
        return found


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _remote(row: dict[str, Any]) -> RemoteInvoice:
    return RemoteInvoice(id=str(row.get("Id", "")), number=str(row.get("DocNumber") or ""),
                         reference=row.get("PrivateNote"), total=to_decimal(row.get("TotalAmt")))


__all__ = ["AUTHORIZE_URL", "SCOPES", "TOKEN_URL", "QboFault", "QuickBooksConnector", "qbo_quote"]
