"""The daily reconciliation (issue 15): POS sales, inventory orders and accounting invoices of a
trading day, side by side, each difference named by sale number with its cause and its fix."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from tillbridge import DatedRecord, hookimpl, services
from tillbridge_accounting import services as accounting
from tillbridge.cli.main import cli
from tillbridge.reconcile import DayReport, daily_activity, day_window, reconcile

from .books import KEY, NAME, Books

ZONE = ZoneInfo("Pacific/Auckland")  # the emulated Lightspeed outlets' time zone


def today() -> Any:
    return datetime.now(ZONE).date()


def remote_calls(books: Books) -> dict[str, int]:
    return {"lightspeed": books.ls.stats.total, "unleashed": books.ul.stats.total, "xero": books.books.stats.total}


@pytest.fixture
def trading_day(xero_books: Books) -> Books:
    """Six sales rung up today, imported into Unleashed and invoiced in Xero."""
    xero_books.sell(6)
    results = xero_books.sync()
    assert results["sales"].created == 6 and results["invoices"].created == 6
    return xero_books


def break_one_sale(books: Books) -> dict[str, Any]:
    """A sale of a product made in Lightspeed after the last product import (unknown to Unleashed)."""
    new = books.ls.create_product("Limited edition tote", "TOTE-LTD-1", Decimal("30.00"))
    outlet = next(iter(books.app.store.location_map(books.conn_id)))
    sale = books.ls.ring_up_sale(outlet, [{"product_id": new["id"], "quantity": Decimal(1)}])
    results = books.sync("sales", "invoices")
    assert results["sales"].held == 1
    return sale


def new_product_id(books: Books) -> str:
    return next(p["id"] for p in books.ls.products() if p.get("sku") == "TOTE-LTD-1")


def test_a_seeded_day_agrees_and_reads_only_that_day(trading_day: Books) -> None:
    books = trading_day
    sales = [s for s in books.ls.sales() if s["status"] == "CLOSED"]
    expected = sum((Decimal(str(s["total_price"])) + Decimal(str(s["total_tax"])) for s in sales), Decimal(0))
    for emulator in (books.ls, books.ul, books.books):
        emulator.stats.reset()
    report = reconcile(books.app, NAME, today())
    assert report.agrees, report.differences
    assert report.time_zone == "Pacific/Auckland" and report.time_zone_source == "pos"
    [outlet] = report.outlets
    assert outlet.pos.count == outlet.inventory.count == outlet.accounting.count == 6  # type: ignore[union-attr]
    assert outlet.pos.total == outlet.inventory.total == outlet.accounting.total == expected.quantize(Decimal("0.01"))  # type: ignore[union-attr]
    assert outlet.inventory.completed == 6 and outlet.inventory.parked == 0
    # the day only: the outlets' zone, one page of the day's sales, one of its orders, one look-up
    assert remote_calls(books) == {"lightspeed": 2, "unleashed": 1, "xero": 1}
    # yesterday had no sales: nothing to line up, and nothing disagrees
    assert reconcile(books.app, NAME, today() - timedelta(days=1)).outlets == []


def test_a_broken_sale_is_named_with_its_cause_and_fixed_by_reimport(trading_day: Books) -> None:
    books = trading_day
    sale = break_one_sale(books)
    report = reconcile(books.app, NAME, today())
    assert not report.agrees
    [diff] = report.differences
    assert diff.sale_number == sale["invoice_number"] and diff.system == "inventory"
    assert diff.cause == "held" and diff.detail.startswith("a product of this sale is not in Unleashed yet")
    assert new_product_id(books) not in diff.detail + diff.action  # retailer words: no internal ids
    assert "TOTE-LTD-1" in (diff.technical or "")  # the log's own words name the product by its code
    assert diff.action.endswith("press Re-import.") and diff.reimport_record == sale["invoice_number"]
    outlet = report.outlets[0]
    assert outlet.pos.count == 7 and outlet.inventory.count == 6

    # the product import brings the tote over; re-importing the sale makes its order, which
    # Unleashed parks: no tote in stock yet
    books.sync("products")
    services.reimport(books.app, NAME, record=diff.reimport_record)
    [parked] = reconcile(books.app, NAME, today()).differences
    order = next(o for o in books.ul.sales_orders() if o["CustomerRef"] == sale["invoice_number"])
    assert parked.cause == "parked" and parked.sale_number == sale["invoice_number"]
    assert parked.action == f"Complete order {order['OrderNumber']} in Unleashed once the stock has arrived."
    assert parked.reimport_record is None

    # the retailer receives totes and completes the order in Unleashed; the invoice follows
    warehouse = books.app.store.location_map(books.conn_id)[sale["outlet_id"]]
    books.ul.receive_stock(books.ul.product_by_code("TOTE-LTD-1")["Guid"], warehouse, Decimal(5))  # type: ignore[index]
    books.ul.complete_order(order["Guid"])
    [waiting] = reconcile(books.app, NAME, today()).differences
    assert (waiting.system, waiting.cause) == ("accounting", "not yet sent")
    books.sync("invoices")
    final = reconcile(books.app, NAME, today())
    assert final.agrees, final.differences
    assert final.outlets[0].accounting.count == 7  # type: ignore[union-attr]


def test_hook_fetch_dated(trading_day: Books) -> None:
    """A plugin answering first replaces what a system says about the day."""
    books = trading_day
    start, _ = day_window(today(), ZONE)

    class LateTill:
        @hookimpl(tryfirst=True)
        def fetch_dated(self, connector, entity_type, start, end, references):  # type: ignore[no-untyped-def]
            if entity_type != "sale":
                return None
            real = books.app.plugins.pm.hook.fetch_dated.get_hookimpls()
            theirs = next(i for i in real if i.plugin_name == "lightspeed").function(
                connector=connector, entity_type=entity_type, start=start, end=end, references=references)
            outlet = theirs[0].location_id
            return [*theirs, DatedRecord(id="late", number="9999", sale_number="9999", total=Decimal("12.50"),
                                         status="closed", location_id=outlet, when=start + timedelta(hours=9))]

    books.app.plugins.register(LateTill(), name="late-till")
    report = reconcile(books.app, NAME, today())
    [diff] = report.differences
    assert (diff.sale_number, diff.cause) == ("9999", "not yet sent")
    assert diff.import_since == start.strftime("%Y-%m-%dT%H:%M:%SZ") and diff.reimport_record is None
    assert services.parse_date(diff.import_since) == start  # what "import sales --since" takes
    assert report.outlets[0].pos.count == 7


def test_cli_exit_codes_and_json(trading_day: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    books = trading_day
    monkeypatch.setenv("TILLBRIDGE_SECRET_KEY", KEY.decode())
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--database-url", books.database_url, "reconcile", "-c", NAME, *args])

    agreed = run("--date", today().isoformat())
    assert agreed.exit_code == 0, agreed.output
    assert "The systems agree." in agreed.output and "Auckland CBD" in agreed.output
    as_json = json.loads(run("--date", "today", "--json").output)
    assert as_json["agrees"] is True and as_json["outlets"][0]["pos"]["count"] == 6

    sale = break_one_sale(books)
    broken = run("--date", today().isoformat(), "--json")
    assert broken.exit_code == 1
    body = json.loads(broken.output)
    assert body["agrees"] is False
    [diff] = body["outlets"][0]["differences"]
    assert diff["sale_number"] == sale["invoice_number"] and diff["cause"] == "held"
    table = run("--date", today().isoformat())
    assert table.exit_code == 1 and sale["invoice_number"] in table.output and "held" in table.output
    assert f"tillbridge reimport -c shop --record {sale['invoice_number']}" in table.output  # pasteable

    bad = run("--date", "last tuesday")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_time_zone_setting_moves_the_day(trading_day: Books) -> None:
    books = trading_day
    with pytest.raises(Exception, match="not a time zone name"):
        books.settings(time_zone="Mars/Olympus")
    books.settings(time_zone="UTC")
    report = reconcile(books.app, NAME, datetime.now(ZoneInfo("UTC")).date())
    assert report.time_zone == "UTC" and report.time_zone_source == "setting"
    assert report.agrees and report.outlets[0].pos.count == 6


def test_daily_activity_counts_records_moved_and_failed_per_flow(trading_day: Books) -> None:
    books = trading_day
    break_one_sale(books)
    days = daily_activity(books.app, NAME, days=30)
    assert len(days) == 30 and days[-1].day == datetime.now(ZoneInfo("UTC")).date()
    last = days[-1]
    assert last.moved["sales"] == 6 and last.moved["invoices"] == 6
    assert sum(d.total_moved for d in days[:-1]) == 0


def test_an_order_entered_twice_is_named_with_the_one_to_delete(trading_day: Books) -> None:
    books = trading_day
    sale = next(s for s in books.ls.sales() if s["status"] == "CLOSED")
    order = next(o for o in books.ul.sales_orders() if o["CustomerRef"] == sale["invoice_number"])
    # someone keys the same till sale into Unleashed again by hand, on the same date
    copy = books.ul.create_sales_order({
        "OrderStatus": "Parked", "OrderDate": order["OrderDate"], "CustomerRef": sale["invoice_number"],
        "Customer": {"CustomerCode": order["Customer"]["CustomerCode"]},
        "Warehouse": {"WarehouseCode": order["Warehouse"]["WarehouseCode"]},
        "SalesOrderLines": [{"LineNumber": 1, "Product": {"ProductCode": ln["Product"]["ProductCode"]},
                             "OrderQuantity": ln["OrderQuantity"], "UnitPrice": ln["UnitPrice"],
                             "LineTotal": ln["LineTotal"], "LineTax": ln["LineTax"]}
                            for ln in order["SalesOrderLines"]],
        "SubTotal": order["SubTotal"], "TaxTotal": order["TaxTotal"], "Total": order["Total"]})
    report = reconcile(books.app, NAME, today())
    [diff] = report.differences
    assert (diff.sale_number, diff.cause, diff.system) == (sale["invoice_number"], "sent twice", "inventory")
    assert diff.action == f"Delete order {copy['OrderNumber']} in Unleashed and keep {order['OrderNumber']}."
    assert report.outlets[0].inventory.count == 7 and report.outlets[0].pos.count == 6


def test_an_invoice_the_provider_refused_is_named_and_a_reimport_sends_it(xero_books: Books) -> None:
    books = xero_books
    accounting.map_account(books.app, NAME, "default", "999", check=False)  # no such account in Xero
    [sale] = books.sell(1)
    assert books.sync()["invoices"].failed == 1
    [diff] = reconcile(books.app, NAME, today()).differences
    invoice = next(i for i in books.ul.invoices())
    assert (diff.sale_number, diff.system, diff.cause) == (sale["invoice_number"], "accounting", "refused")
    assert "Account code '999' is not a valid code" in diff.detail and invoice["InvoiceNumber"] in diff.detail
    assert diff.reimport_record == invoice["InvoiceNumber"] and diff.action.endswith("then press Re-import.")
    accounting.map_account(books.app, NAME, "default", "200")
    services.reimport(books.app, NAME, record=diff.reimport_record)
    assert reconcile(books.app, NAME, today()).agrees


def test_a_sale_at_an_unmapped_outlet_says_which_outlet_to_map(trading_day: Books) -> None:
    books = trading_day
    mapped = set(books.app.store.location_map(books.conn_id))
    other = next(o for o in books.ls.outlets() if o["id"] not in mapped)
    product = books.products()[0]
    sale = books.ls.ring_up_sale(other["id"], [{"product_id": product["id"], "quantity": Decimal(1)}])
    assert books.sync("sales")["sales"].held == 1
    report = reconcile(books.app, NAME, today())
    [diff] = report.differences
    assert (diff.sale_number, diff.cause, diff.outlet) == (sale["invoice_number"], "held", other["name"])
    assert diff.detail == f"outlet {other['name']} is not mapped to a warehouse of Unleashed"
    assert diff.action == f"Map outlet {other['name']} to a warehouse on the Configuration page, then press Re-import."
    assert [o.outlet for o in report.outlets] == sorted(o.outlet for o in report.outlets) and len(report.outlets) == 2
