"""A provider this plugin does not ship (think MYOB), added as a plugin of its own: it implements
the small accounting interface and gets the flow, the outbox and exactly-once sending for free."""

from __future__ import annotations

import threading
from typing import Any, Callable, ClassVar, Mapping, Sequence

from tillbridge import CredentialField, RecordRejected, hookimpl
from tillbridge_accounting import services as accounting
from tillbridge_accounting.provider import (
    AccountingConnector,
    AccountingProvider,
    ContactRef,
    DraftInvoice,
    Outcome,
    RemoteInvoice,
)

from .books import NAME, Books

LEDGER: dict[str, dict[str, Any]] = {}
CALLS: list[str] = []
_LOCK = threading.Lock()


class PaperLedgerConnector(AccountingConnector):
    """Books invoices in a dict: one invoice per request, no idempotency keys, no daily limit."""

    system: ClassVar[str] = "paperledger"
    title: ClassVar[str] = "Paper Ledger"
    credential_fields = (CredentialField("book", "Ledger book", required=False),)
    invoice_batch_size: ClassVar[int] = 1

    def check(self) -> str:
        return "Paper Ledger book 1"

    def find_invoices(self, numbers: Sequence[str]) -> dict[str, RemoteInvoice]:
        CALLS.append("find")
        with _LOCK:
            return {n: RemoteInvoice(LEDGER[n]["id"], n, total=LEDGER[n]["total"]) for n in numbers if n in LEDGER}

    def resolve_contacts(self, contacts: Sequence[ContactRef]) -> dict[str, str | RecordRejected]:
        return {c.code: f"customer-{c.code}" for c in contacts}

    def create_invoices(self, drafts: Sequence[DraftInvoice], contacts: Mapping[str, str],
                        keys: Sequence[str]) -> list[Outcome]:
        CALLS.append("create")
        outcomes = []
        with _LOCK:
            for draft in drafts:
                if draft.number in LEDGER:
                    outcomes.append(Outcome(draft.number, "duplicate", messages=["number taken"]))
                    continue
                LEDGER[draft.number] = {"id": f"P{len(LEDGER) + 1}", "total": draft.total,
                                        "customer": contacts[draft.contact.code], "reference": draft.reference}
                outcomes.append(Outcome(draft.number, "sent",
                                        remote=RemoteInvoice(LEDGER[draft.number]["id"], draft.number,
                                                             total=draft.total)))
        return outcomes


class PaperLedgerPlugin:
    @hookimpl
    def register_connectors(self, register: Callable[[type], None]) -> None:
        register(PaperLedgerConnector)


def test_a_provider_plugged_in_from_outside_gets_exactly_once_sending(books_factory: Callable[..., Books]) -> None:
    LEDGER.clear()
    CALLS.clear()
    books = books_factory(enable=False, extra_plugins=[("paperledger", PaperLedgerPlugin())])
    assert isinstance(PaperLedgerConnector, type) and issubclass(PaperLedgerConnector, AccountingConnector)
    books.app.store.save_credentials(books.conn_id, "paperledger", {"book": "1"})  # its own `connect`
    accounting.enable(books.app, NAME, provider="paperledger", force=True)
    assert books.app.runtime(NAME).system_of("accounting") == "paperledger"
    assert isinstance(accounting.provider_of(books.app, NAME), AccountingProvider)  # the protocol holds

    sales = books.sell(6)
    result = books.sync()["invoices"]
    assert result.created == 6
    assert sorted(LEDGER) == sorted(books.ul_invoices())
    assert sorted(v["reference"] for v in LEDGER.values()) == sorted(s["invoice_number"] for s in sales)
    assert CALLS.count("create") == 6 and "find" not in CALLS  # nothing was in doubt

    status = accounting.status(books.app, NAME)
    assert status.counts["sent"] == 6 and status.provider == "Paper Ledger"
    assert books.sync()["invoices"].created == 0 and len(LEDGER) == 6
