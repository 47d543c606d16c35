"""The accounting interface: what a provider connector does so invoices reach it exactly once.

A provider is a :class:`~tillbridge.Connector` with role ``"accounting"`` that writes
``"invoice"``. This plugin registers the ``invoices`` flow (inventory → accounting) and the
settings; the core's runner fetches sales invoices from the inventory system and hands them, in
batches, to the provider connector's ``push``. Xero and QuickBooks Online ship here.

Adding a provider (MYOB, say) as a plugin of its own, without touching this one::

    from tillbridge_accounting.provider import AccountingConnector, ContactRef, DraftInvoice, ...

    class MyobConnector(AccountingConnector):
        system = "myob"; title = "MYOB Business"; emulator = None
        invoice_batch_size = 1                        # MYOB takes one invoice per request
        credential_fields = (...)                     # OAuth tokens, API key, company file
        @classmethod
        def make_auth(cls, credentials, save): ...    # tillbridge_accounting.oauth2.OAuth2Auth fits

        def find_invoices(self, numbers): ...         # our invoice numbers -> RemoteInvoice
        def resolve_contacts(self, contacts): ...     # ContactRef.code -> customer UID, created if missing
        def create_invoices(self, drafts, contacts, keys): ...  # -> one Outcome per draft, in order
        def budget(self): ...                         # Budget(day_remaining=..., ...)
        def invoices_referencing(self, references, since): ...  # for `accounting doctor`

    @hookimpl
    def register_connectors(register): register(MyobConnector)

then the plugin's own ``tillbridge connect myob`` (store the credentials) and
``tillbridge accounting enable --provider myob``. ``AccountingConnector.push``
runs the exactly-once machinery (:mod:`tillbridge_accounting.sender`): an outbox row per invoice,
an idempotency token per attempt (``keys``; a provider without idempotency ignores it), a look-up
by invoice number before any re-send whose outcome is unknown, per-invoice rejections to the
connection log with the provider's message and a fix, deferral when the daily budget is spent.

A provider that wants none of this can subclass :class:`~tillbridge.Connector` directly and
implement ``push("invoice", ...)`` itself; the flow only needs the role and the entity type.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar, Literal, Mapping, Protocol, Sequence, runtime_checkable

from tillbridge import Connector, Outgoing, PushResult, QuotaExhausted, RecordRejected, Unsupported


@dataclass(frozen=True)
class ContactRef:
    """The customer of an invoice: ``code`` is the stable external number (inventory customer
    code), kept on the provider's contact (Xero ``ContactNumber``)."""

    code: str
    name: str


@dataclass(frozen=True)
class DraftLine:
    """One invoice line, provider-neutral. ``amount`` is tax exclusive, after discount, and is
    what the inventory system booked; providers must reproduce it to the cent."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    amount: Decimal
    tax_amount: Decimal
    tax_code: str | None
    product_code: str | None
    account: str | None
    tax_type: str | None


@dataclass(frozen=True)
class DraftInvoice:
    """A sales invoice ready for a provider: ``number`` is the inventory invoice number (our
    look-up key at the provider), ``reference`` the POS sale number."""

    source_id: str
    number: str
    reference: str | None
    contact: ContactRef
    date: dt.date  # the field shadows the type in the class body: dt.date names the type
    due_date: dt.date
    currency: str
    lines: tuple[DraftLine, ...]
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal

    def payload(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)


@dataclass(frozen=True)
class RemoteInvoice:
    """An invoice as the provider holds it. ``mine``: created by this app (``None``: unknown)."""

    id: str
    number: str
    reference: str | None = None
    total: Decimal | None = None
    status: str | None = None
    mine: bool | None = None


OutcomeStatus = Literal["sent", "rejected", "duplicate"]


@dataclass
class Outcome:
    """What became of one draft. ``duplicate``: the provider says the number is taken (the
    sender then looks the invoice up and binds to it)."""

    number: str
    status: OutcomeStatus
    remote: RemoteInvoice | None = None
    messages: list[str] = field(default_factory=list)
    fix: str | None = None


@dataclass(frozen=True)
class Budget:
    """The provider's remaining API budget as last seen (``None``: unknown or unlimited)."""

    day_remaining: int | None = None
    minute_remaining: int | None = None
    day_limit: int | None = None
    seen_at: datetime | None = None
    note: str = ""


@runtime_checkable
class AccountingProvider(Protocol):
    """The calls the sender makes. All raise the framework's errors (``AuthError``,
    ``RateLimited``, ``QuotaExhausted``, ``TransientError``) for whole-request failures."""

    system: ClassVar[str]
    title: ClassVar[str]
    invoice_batch_size: ClassVar[int]

    def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]: ...

    def resolve_contacts(self, contacts: Sequence[ContactRef]) -> dict[str, str | RecordRejected]: ...

    def create_invoices(self, drafts: Sequence[DraftInvoice], contacts: Mapping[str, str],
                        keys: Sequence[str]) -> list[Outcome]: ...

    def budget(self) -> Budget: ...

    def day_budget_spent(self) -> bool: ...

    def invoices_referencing(self, references: Sequence[str], since: datetime) -> list[RemoteInvoice]: ...


class AccountingConnector(Connector):
    """Base class of provider connectors: ``push("invoice", ...)`` goes through the outbox."""

    roles: ClassVar[frozenset[str]] = frozenset({"accounting"})
    writes: ClassVar[frozenset[str]] = frozenset({"invoice"})
    #: Invoices per create request (Xero: 50; one for APIs without batches).
    invoice_batch_size: ClassVar[int] = 1
    #: Calls of the daily budget kept for status, doctor and people (never spent on invoices).
    day_reserve: ClassVar[int] = 20
    #: Seconds after which a "budget spent" sighting is re-checked with one call.
    budget_probe_after: ClassVar[float] = 300.0
    #: Invoice batches sent side by side unless the ``accounting_push_concurrency`` setting says.
    default_push_concurrency: ClassVar[int] = 1

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        from .config import PUSH_CONCURRENCY

        chosen = context.settings.get(PUSH_CONCURRENCY) or self.default_push_concurrency
        limit = self.max_concurrency or chosen
        self.push_concurrency = max(1, min(int(chosen), int(limit)))
        #: held while contacts are looked up or created: two batches side by side that share a
        #: customer must not both create its contact
        self.contacts_lock = threading.Lock()

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        if entity_type != "invoice":
            raise Unsupported(f"{self.title or self.system} only takes invoices, not {entity_type}")
        from .sender import InvoiceSender
        from .store_link import require_link

        return InvoiceSender(self, require_link(self.context)).push(records)

    # --- what providers implement (see AccountingProvider) ---------------------------------------
    def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        raise Unsupported(f"{self.system} cannot look invoices up")

    def resolve_contacts(self, contacts: Sequence[ContactRef]) -> dict[str, str | RecordRejected]:
        raise Unsupported(f"{self.system} cannot resolve contacts")

    def create_invoices(self, drafts: Sequence[DraftInvoice], contacts: Mapping[str, str],
                        keys: Sequence[str]) -> list[Outcome]:
        raise Unsupported(f"{self.system} cannot create invoices")

    def budget(self) -> Budget:
        return Budget(note="no daily limit")

    def day_budget_spent(self) -> bool:
        """True when the daily budget (as last seen) is down to the reserve. A sighting older than
        ``budget_probe_after`` seconds is checked with one cheap call first: the window may have
        turned over meanwhile (Xero's daily window rolls)."""
        seen = self.budget()
        if seen.day_remaining is None or seen.day_remaining > self.day_reserve:
            return False
        age = (datetime.now(timezone.utc) - seen.seen_at).total_seconds() if seen.seen_at else None
        if age is None or age > self.budget_probe_after:
            try:
                seen = self.refresh_budget()
            except QuotaExhausted:
                return True
        return seen.day_remaining is not None and seen.day_remaining <= self.day_reserve

    def invoices_referencing(self, references: Sequence[str], since: datetime) -> list[RemoteInvoice]:
        raise Unsupported(f"{self.system} cannot search invoices")

    def refresh_budget(self) -> Budget:
        """The budget after one cheap call (``accounting status``); default: as last seen."""
        return self.budget()

    def check_account(self, code: str) -> None:
        """Raise ``ConfigError`` when ``code`` is not a usable sales account (item) at the provider."""

    def check_tax(self, code: str) -> None:
        """Raise ``ConfigError`` when ``code`` is not a usable sales tax type (code) at the provider."""

    def account_options(self) -> list[tuple[str, str]]:
        """Sales accounts (items) a person may pick: ``[(code, "code Name")]`` (console lists)."""
        return []

    def tax_options(self) -> list[tuple[str, str]]:
        """Sales tax types (codes) a person may pick: ``[(code, label)]`` (console lists)."""
        return []

    def describe(self) -> str:
        """One line naming the organisation/company (for status output)."""
        return self.title or self.system


def money(value: Decimal) -> float:
    """JSON wire form of an amount. Decimals of ≤ 4 places survive ``float`` exactly enough:
    ``repr`` gives the shortest string that round-trips, so 82.61 goes out as 82.61."""
    return float(value)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


__all__ = [
    "AccountingConnector",
    "AccountingProvider",
    "Budget",
    "ContactRef",
    "DraftInvoice",
    "DraftLine",
    "Outcome",
    "RemoteInvoice",
]
