"""What goes wrong on the Xero side and how it is survived: refusals reach the log with Xero's own
words and a fix and are re-sent by ``tillbridge reimport``; lost answers and crashes never make a
second invoice; a spent daily budget defers the flow."""

from __future__ import annotations

from typing import Any, Callable

import httpx
import pytest

from tillbridge import hookimpl, services
from tillbridge_accounting import services as accounting
from tillbridge_accounting.provider import AccountingConnector
from tillbridge_accounting.xero import XeroConnector

from .books import NAME, Books


def _invoice_errors(books: Books) -> list[Any]:
    return [e for e in books.log(open_only=True) if e.flow == "invoices"]


def _numbers(books: Books) -> list[str]:
    return sorted(i["InvoiceNumber"] for i in books.provider_invoices())


def test_unknown_account_code_is_logged_with_xero_message_and_fix_then_reimport_resends(xero_books: Books) -> None:
    books = xero_books
    accounting.map_account(books.app, NAME, "default", "999", check=False)
    books.sell(3)
    result = books.sync()["invoices"]
    assert result.failed == 3 and result.created == 0
    errors = _invoice_errors(books)
    assert len(errors) == 3
    for entry in errors:
        assert "Account code '999' is not a valid code for this document." in entry.message  # Xero's words
        assert entry.level == "error" and entry.record_key and entry.record_key.startswith("SI-")
        assert entry.fix and "map-account" in entry.fix and "reimport" in entry.fix
    assert books.provider_invoices() == []
    assert {row.status for row in books.outbox()} == {"failed"}

    # The check refuses the same mistake when it is made through the command.
    with pytest.raises(Exception, match="no active account with code '999'"):
        accounting.map_account(books.app, NAME, "default", "999")
    accounting.map_account(books.app, NAME, "default", "200")
    rerun = services.reimport(books.app, NAME)
    assert [r.created for r in rerun if r.flow == "invoices"] == [3]
    assert _invoice_errors(books) == []
    assert _numbers(books) == sorted(books.ul_invoices())
    # Nothing is left to re-send, and a second reimport finds no open failure.
    assert services.reimport(books.app, NAME) == []


def test_one_bad_invoice_is_refused_while_the_rest_of_the_batch_is_sent(xero_books: Books) -> None:
    books = xero_books
    product = books.products()[0]
    accounting.map_account(books.app, NAME, product["sku"], "999", check=False)
    outlet = next(iter(books.app.store.location_map(books.conn_id)))
    books.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 1}])
    others = [p for p in books.products() if p["sku"] != product["sku"]]
    for other in others[:4]:
        books.ls.ring_up_sale(outlet, [{"product_id": other["id"], "quantity": 2}])
    result = books.sync()["invoices"]
    assert (result.created, result.failed) == (4, 1)
    assert books.books.stats.count("PUT /api.xro/2.0/Invoices") == 1  # one batch, not one per invoice
    [entry] = _invoice_errors(books)
    assert "Account code '999'" in entry.message

    accounting.map_account(books.app, NAME, product["sku"], None)  # back to the default account
    puts = books.books.stats.count("PUT /api.xro/2.0/Invoices")
    assert [r.created for r in services.reimport(books.app, NAME)] == [1]
    assert books.books.stats.count("PUT /api.xro/2.0/Invoices") == puts + 1  # retried alone
    assert _numbers(books) == sorted(books.ul_invoices())


def test_archived_contact_is_reported_not_duplicated_and_resent_once_restored(xero_books: Books) -> None:
    books = xero_books
    customer = books.ls.customers()[0]
    outlet = next(iter(books.app.store.location_map(books.conn_id)))
    product = books.products()[0]
    books.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 1}], customer_id=customer["id"])
    books.sync()
    [contact] = [c for c in books.books.contacts() if c.get("ContactNumber") == customer["customer_code"]]
    books.books.archive_contact(contact["ContactID"])
    books.restart()  # a new process: no cached contact ids

    books.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 2}], customer_id=customer["id"])
    result = books.sync()["invoices"]
    assert result.failed == 1
    [entry] = _invoice_errors(books)
    assert "has been archived" in entry.message
    assert entry.fix and "Restore" in entry.fix and "reimport" in entry.fix
    same_number = [c for c in books.books.contacts() if c.get("ContactNumber") == customer["customer_code"]]
    assert len(same_number) == 1  # no second contact behind the retailer's back

    # Restored in Xero (what the fix says), the invoice goes on re-import.
    xero = accounting.provider_of(books.app, NAME)
    assert isinstance(xero, XeroConnector)
    xero._request("POST", f"/Contacts/{contact['ContactID']}", what="restoring a contact",
                  body={"Contacts": [{"ContactID": contact["ContactID"], "ContactStatus": "ACTIVE"}]})
    assert [r.created for r in services.reimport(books.app, NAME)] == [1]
    assert _numbers(books) == sorted(books.ul_invoices())


def test_lost_answers_are_looked_up_before_anything_is_sent_again(xero_books: Books) -> None:
    books = xero_books
    books.sell(1, walk_in_every=1)
    books.sync()  # the walk-in contact exists now: the next run writes invoices only
    books.sell(5, walk_in_every=1)
    books.sync("sales")
    books.books.set_faults(lost_response_rate=1.0)  # every write is committed, every answer lost
    result = books.sync("invoices")["invoices"]
    assert result.status == "failed"  # the run gives up; the rows are "in doubt"
    books.books.clear_faults()
    assert len(books.books.invoices()) == 6  # Xero made them (once: the retries were replayed)
    doubtful = [row for row in books.outbox() if row.status != "sent"]
    assert len(doubtful) == 5 and all(row.attempts == 1 and row.status == "pending" for row in doubtful)

    puts = books.books.stats.count("PUT /api.xro/2.0/Invoices")
    again = books.sync("invoices")["invoices"]
    assert again.status == "ok" and again.created == 5
    assert books.books.stats.count("PUT /api.xro/2.0/Invoices") == puts  # found by number, not sent
    assert len(books.provider_invoices()) == 6
    assert {row.status for row in books.outbox()} == {"sent"}


class Killed(BaseException):
    """The process dies (not an Exception: nothing may catch it)."""


class KillAfterProviderWrote:
    """Lets the provider write, then kills the process before the runner commits."""

    def __init__(self) -> None:
        self.armed = True

    @hookimpl(tryfirst=True)
    def push_entities(self, connector: Any, entity_type: str, records: Any) -> Any:
        if self.armed and isinstance(connector, AccountingConnector):
            self.armed = False
            connector.push(entity_type, records)
            raise Killed()
        return None


def test_a_crash_after_xero_answered_sends_nothing_again(xero_books: Books) -> None:
    books = xero_books
    books.sell(4)
    books.sync("sales")
    killer = KillAfterProviderWrote()
    books.app.plugins.register(killer, name="killer")
    with pytest.raises(Killed):
        books.sync("invoices")
    assert len(books.provider_invoices()) == 4
    assert books.app.store.binding_count(books.conn_id, "invoice") == 0  # the runner never committed

    books.restart()
    calls = books.books.stats.total
    result = books.sync("invoices")["invoices"]
    assert result.created == 4
    assert books.books.stats.total == calls  # the outbox knew: not even a look-up
    assert len(books.provider_invoices()) == 4
    assert books.app.store.binding_count(books.conn_id, "invoice") == 4


def test_a_spent_daily_budget_defers_the_flow_and_says_so(books_factory: Callable[..., Books],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(XeroConnector, "day_reserve", 2)
    books = books_factory(provider_options={"limits": {"per_day": 12}})
    deferred = None
    for _ in range(12):
        books.sell(2, walk_in_every=1)
        result = books.sync()["invoices"]
        if result.status == "deferred":
            deferred = result
            break
    assert deferred is not None, "the budget never ran out"
    [warning] = [e for e in books.log(levels=["warning"]) if e.flow == "invoices" and e.category == "run"]
    assert "daily API limit" in warning.message
    assert any(row.status == "deferred" for row in books.outbox())
    assert len(books.provider_invoices()) < len(books.ul.invoices())
    status = accounting.status(books.app, NAME, live=False)
    assert status.counts["deferred"] >= 1 and status.budget is not None and status.budget.day_remaining is not None

    books.books.clock.advance(86_400)  # the next day
    books.restart()
    assert books.sync()["invoices"].status == "ok"
    assert _numbers(books) == sorted(books.ul_invoices())


class SummarisingGateway(httpx.BaseTransport):
    """A proxy in front of Xero that drops ``summarizeErrors=false``: one bad invoice then fails
    the whole batch with a 400 (Xero's default), and nothing of the batch is saved."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(retries=0, verify=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "summarizeErrors" in request.url.params:
            request.url = request.url.copy_remove_param("summarizeErrors")
        return self.inner.handle_request(request)


def test_a_batch_refused_as_a_whole_is_sent_again_one_invoice_at_a_time(
        books_factory: Callable[..., Books]) -> None:
    books = books_factory(transport_factory=lambda system, url: SummarisingGateway() if system == "xero" else None)
    product = books.products()[0]
    accounting.map_account(books.app, NAME, product["sku"], "999", check=False)
    outlet = next(iter(books.app.store.location_map(books.conn_id)))
    books.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 1}])
    for other in [p for p in books.products() if p["sku"] != product["sku"]][:3]:
        books.ls.ring_up_sale(outlet, [{"product_id": other["id"], "quantity": 1}])
    result = books.sync()["invoices"]
    assert (result.created, result.failed) == (3, 1)
    assert books.books.stats.count("PUT /api.xro/2.0/Invoices") == 1 + 4  # the batch, then each alone
    [entry] = _invoice_errors(books)
    assert "Account code '999'" in entry.message
    assert len(books.provider_invoices()) == 3
