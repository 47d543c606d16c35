"""Sales invoices reach Xero: contents, totals to the cent, contacts, switching on and off."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable

from tillbridge_accounting import services as accounting

from .books import NAME, Books


def _money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_each_invoice_lands_once_with_unleashed_totals_reference_and_contact(xero_books: Books) -> None:
    books = xero_books
    sales = books.sell(12)
    results = books.sync()
    assert results["sales"].created == 12
    assert results["invoices"].status == "ok" and results["invoices"].created == 12

    sent = books.provider_invoices()
    ul = books.ul_invoices()
    assert sorted(i["InvoiceNumber"] for i in sent) == sorted(ul)
    by_ref = {s["invoice_number"] for s in sales}
    orders = {o["OrderNumber"]: o for o in books.ul.sales_orders()}
    assert len({i["Reference"] for i in sent}) == 12
    # The orders behind the invoices are listed by completion time: one request, not one each.
    looked_up = {k: n for k, n in books.ul.stats.by_route.items() if k.startswith("GET /SalesOrders")}
    assert looked_up == {"GET /SalesOrders/{id}": 1}, looked_up
    for invoice in sent:
        source = ul[invoice["InvoiceNumber"]]
        assert _money(invoice["Total"]) == _money(source["Total"])
        assert _money(invoice["SubTotal"]) == _money(source["SubTotal"])
        assert _money(invoice["TotalTax"]) == _money(source["TaxTotal"])
        assert invoice["Reference"] in by_ref  # the Lightspeed sale number
        assert invoice["Reference"] == orders[source["OrderNumber"]]["CustomerRef"]  # of its own order
        assert invoice["Type"] == "ACCREC" and invoice["Status"] == "AUTHORISED"
        assert invoice["Contact"]["ContactNumber"] == source["Customer"]["CustomerCode"]

    # One contact per customer code, found by ContactNumber the next time, never duplicated.
    numbers = [c.get("ContactNumber") for c in books.books.contacts()]
    assert len(numbers) == len(set(numbers))
    books.sell(6)
    again = books.sync()
    assert again["invoices"].created == 6
    numbers = [c.get("ContactNumber") for c in books.books.contacts()]
    assert len(numbers) == len(set(numbers))
    assert books.books.stats.count("PUT /api.xro/2.0/Invoices") == 2  # one batch per run

    # Unchanged invoices are not sent again: the third run writes nothing.
    third = books.sync("invoices")
    assert third["invoices"].created == 0 and len(books.provider_invoices()) == 18
    assert {row.status for row in books.outbox()} == {"sent"}


def test_only_invoices_made_after_enabling_are_sent(books_factory: Callable[..., Books]) -> None:
    books = books_factory(enable=False)
    books.sell(5)
    books.sync()  # orders and invoices exist in Unleashed before accounting is switched on
    assert len(books.ul.invoices()) == 5 and "invoices" not in books.sync()

    accounting.enable(books.app, NAME)
    books.sell(3)
    result = books.sync()["invoices"]
    assert result.created == 3
    assert len(books.provider_invoices()) == 3


def test_disabling_stops_at_once_and_reenabling_skips_what_happened_while_off(xero_books: Books) -> None:
    books = xero_books
    books.sell(4)
    books.sync()
    assert len(books.provider_invoices()) == 4

    accounting.disable(books.app, NAME)
    books.sell(3)
    results = books.sync()
    assert "invoices" not in results  # the flow does not even run
    assert len(books.provider_invoices()) == 4

    accounting.enable(books.app, NAME)
    books.sell(2)
    assert accounting.enable(books.app, NAME).already  # enabling again moves nothing...
    assert books.sync()["invoices"].created == 2  # ...so the two sold meanwhile still go
    assert len(books.provider_invoices()) == 6  # the 3 made while off were not sent

    # ... unless asked: send --since a date before they were made; nothing goes twice.
    before = datetime.now(timezone.utc) - timedelta(hours=1)
    result = accounting.send_since(books.app, NAME, before)
    assert result.status == "ok" and result.created == 3
    assert sorted(i["InvoiceNumber"] for i in books.provider_invoices()) == sorted(books.ul_invoices())


def test_switching_off_in_another_process_stops_a_running_sender(xero_books: Books) -> None:
    """The switch is read from the database before each write, not from a settings snapshot."""
    books = xero_books
    books.sell(3)
    books.sync("sales")
    runtime = books.app.runtime(NAME)  # this "process" has read the settings: switch on
    other = books.open_app()
    accounting.disable(other, NAME)
    other.close()
    from tillbridge.runner import FlowRunner

    result = FlowRunner(books.app, runtime).run(books.app.flows()["invoices"])
    assert result.status == "failed" and "switched off" in (result.error or "")
    assert books.provider_invoices() == []


def test_an_invoice_dated_apart_from_its_order_still_gets_the_sale_number(xero_books: Books) -> None:
    # An invoice is normally dated when its order completes, and the orders are listed by that
    # time; one dated otherwise (edited in Unleashed) is asked for by its order number.
    books = xero_books
    [sale] = books.sell(1)
    assert books.sync("products", "customers", "sales")["sales"].created == 1
    [invoice] = books.ul.state.invoices.values()
    with books.ul.lock:
        invoice["InvoiceDate"] += timedelta(hours=2)
    books.ul.stats.reset()
    assert books.sync("invoices")["invoices"].created == 1

    [sent] = books.provider_invoices()
    assert sent["Reference"] == sale["invoice_number"]
    assert books.ul.stats.by_route["GET /SalesOrders/{id}"] == 1  # the orders completed then: not it
    assert books.ul.stats.by_route["GET /SalesOrders"] == 1  # so asked for by number
