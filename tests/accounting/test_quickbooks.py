"""The QuickBooks Online path: ``requestid`` idempotency, Faults that arrive inside an HTTP 200,
refusals to the log and back through reimport, and the document-number safety net."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import delete

from tillbridge import services
from tillbridge.storage.models import Binding, Outbox
from tillbridge_accounting import services as accounting
from tillbridge_accounting.quickbooks import QuickBooksConnector

from .books import NAME, Books


@pytest.fixture
def qbo_books(books_factory: Callable[..., Books]) -> Books:
    return books_factory(provider="quickbooks")


def _invoice_errors(books: Books) -> list:  # type: ignore[type-arg]
    return [e for e in books.log(open_only=True) if e.flow == "invoices"]


def test_invoices_reach_quickbooks_once_through_lost_answers_with_totals_to_the_cent(qbo_books: Books) -> None:
    books = qbo_books
    books.sell(20)
    books.sync("sales")
    books.books.set_faults(lost_response_rate=0.2, seed=4)
    for _ in range(8):
        if books.sync("invoices")["invoices"].status == "ok" and len(books.books.invoices()) == 20:
            break
    books.books.clear_faults()
    assert books.books.fault_counters["lost_responses"] >= 2  # answers lost after the invoice was saved
    invoices = books.books.invoices()
    ul = books.ul_invoices()
    assert sorted(i["DocNumber"] for i in invoices) == sorted(ul)  # 20, none twice
    for invoice in invoices:
        source = ul[invoice["DocNumber"]]
        assert Decimal(str(invoice["TotalAmt"])) == Decimal(str(source["Total"])).quantize(Decimal("0.01"))
        assert invoice["PrivateNote"].startswith("AKL")  # the Lightspeed sale number
    # The retries were answered from QuickBooks' requestid memory, one key per invoice attempt.
    assert books.books.snapshot()["request_ids"] >= 20
    assert books.sync("invoices")["invoices"].created == 0


def test_a_fault_inside_http_200_is_a_refusal_logged_with_its_fix(qbo_books: Books) -> None:
    books = qbo_books
    outlet = next(iter(books.app.store.location_map(books.conn_id)))
    customer = books.ls.customers()[0]
    product = books.products()[0]
    books.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 1}], customer_id=customer["id"])
    books.sync()
    [qb_customer] = [c for c in books.books.customers() if c["DisplayName"] == customer["first_name"] + " "
                     + customer["last_name"]] or [books.books.customers()[-1]]
    books.books.deactivate_customer(qb_customer["Id"])

    books.ls.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 3}], customer_id=customer["id"])
    statuses_before = dict(books.books.stats.as_dict()["by_status"])
    result = books.sync()["invoices"]
    assert result.failed == 1
    assert set(books.books.stats.as_dict()["by_status"]) == set(statuses_before) == {"200"}  # the Fault came in a 200
    [entry] = _invoice_errors(books)
    assert "Object Not Found" in entry.message and "inactive" in entry.message and "code 610" in entry.message
    assert entry.fix and "active again in QuickBooks" in entry.fix and "reimport" in entry.fix

    # Made active again in QuickBooks, the invoice goes through on re-import, once.
    qbo = accounting.provider_of(books.app, NAME)
    assert isinstance(qbo, QuickBooksConnector)
    current = next(c for c in books.books.customers() if c["Id"] == qb_customer["Id"])
    qbo._call("POST", "/customer", what="reactivating", body={"Id": current["Id"], "SyncToken": current["SyncToken"],
                                                              "sparse": True, "Active": True})
    assert [r.created for r in services.reimport(books.app, NAME)] == [1]
    assert sorted(i["DocNumber"] for i in books.books.invoices()) == sorted(books.ul_invoices())


def test_an_unknown_item_is_quickbooks_own_refusal_then_fixed_by_mapping(qbo_books: Books) -> None:
    books = qbo_books
    with pytest.raises(Exception, match="no active item"):
        accounting.map_account(books.app, NAME, "default", "Gadgets")
    accounting.map_account(books.app, NAME, "default", "Gadgets", check=False)
    books.sell(2)
    result = books.sync()["invoices"]
    assert result.failed == 2
    for entry in _invoice_errors(books):
        assert "Invalid Reference Id" in entry.message
        assert entry.fix and "map-account" in entry.fix
    accounting.map_account(books.app, NAME, "default", "Retail Sale")
    assert [r.created for r in services.reimport(books.app, NAME)] == [2]
    lines = [ln for inv in books.books.invoices() for ln in inv["Line"] if ln["DetailType"] == "SalesItemLineDetail"
             and ln["Amount"] and "rounding" not in str(ln.get("Description", "")).lower()]
    assert lines and {ln["SalesItemLineDetail"]["ItemRef"]["name"] for ln in lines} == {"Retail Sale"}


def test_with_the_outbox_lost_the_document_number_still_prevents_a_second_invoice(
        books_factory: Callable[..., Books]) -> None:
    """A database restored from last night's backup forgets what was sent, and QuickBooks has
    forgotten the requestids by then; its unique DocNumber (6140) tells us, and the invoice is
    bound to the existing one instead of being made twice."""
    books = books_factory(provider="quickbooks", provider_options={"requestid_window": 300.0})
    books.sell(3)
    books.sync()
    assert len(books.books.invoices()) == 3
    books.books.clock.advance(3600)  # requestids expire
    with books.app.store.session() as s:
        s.exec(delete(Outbox))  # type: ignore[call-overload]
        s.exec(delete(Binding).where(Binding.entity_type == "invoice"))  # type: ignore[call-overload]
        s.commit()
    result = accounting.send_since(books.app, NAME, books.app.store.connection(NAME).created_at)
    assert result.created == 3
    assert len(books.books.invoices()) == 3
    notes = [e for e in books.log() if e.flow == "invoices" and "already in QuickBooks" in e.message]
    assert len(notes) == 3
    assert {row.status for row in books.outbox()} == {"sent"}
