"""Unleashed sales orders (mixed into the connector): one order per POS sale, and the orders'
references read back for invoices.

``POST /SalesOrders/{Guid}`` creates an order once, so a retried write never makes a second one
(https://apidocs.unleashedsoftware.com/SalesOrders); a POS sale is created Completed, or Parked then completed when
stock is short
(https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
import threading
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from tillbridge import ConnectorContext, Outgoing, PushResult, RecordRejected, RemoteError, Sale, command

from . import convert
from .stock_knowledge import StockKnowledge
from .wire import CENT, DISCOUNT_CODE, cents, last_page, reason

# An invoice is dated when its order completes; this much either side finds the order by its
# CompletedDate without listing a day of other orders (filter dates are to the second,
# https://apidocs.unleashedsoftware.com/SalesOrders).
COMPLETION_SLACK = timedelta(minutes=5)
# A gap between the POS subtotal and the sum of rounded lines up to this per line is rounding.
ROUNDING_PER_LINE = Decimal("0.005")


class SalesOrders:
    """The sales-order part of :class:`UnleashedConnector`."""

    if TYPE_CHECKING:  # provided by the connector (and RecordWrites) this is mixed into
        context: ConnectorContext
        max_page_size: ClassVar[int]
        _lock: threading.Lock
        _ensure_lock: threading.Lock
        _taxes: list[dict[str, Any]] | None
        _default_customer: str | None
        _discount_product: str | None
        _order_refs: dict[str, str]
        _never_diminishing: set[str]
        _known_stock: StockKnowledge

        def request(self, method: str, path: str, *, what: str = "", json: Any = None,
                    **kwargs: Any) -> httpx.Response: ...
        def _get(self, path: str, **params: Any) -> Any: ...
        def _post(self, path: str, body: dict[str, Any], what: str) -> httpx.Response: ...
        def det_id(self, kind: str, key: str) -> str: ...
        def _existing(self, resource: str, param: str, field_name: str, code: str) -> str | None: ...

    def _order_references(self, invoices: list[dict[str, Any]]) -> dict[str, str]:
        """OrderNumber → CustomerRef (the POS sale number we put on each order).

        An invoice does not carry its order's CustomerRef, so the orders are read: listed by
        completion time (an invoice is made when its order completes, so the orders of a page of
        invoices were completed when those invoices were dated), a request per 1,000 orders
        rather than one per invoice. An order not found that way (dated otherwise) is asked for
        by number.
        """
        numbers = {i["OrderNumber"] for i in invoices if i.get("OrderNumber")}
        refs = {n: self._order_refs[n] for n in numbers if n in self._order_refs}  # the overlap re-read
        wanted = numbers - refs.keys()
        when = (convert.when(i.get("InvoiceDate")) for i in invoices if i.get("OrderNumber") in wanted)
        dated = [d for d in when if d is not None]
        if dated:
            refs.update(self._references_completed_between(min(dated) - COMPLETION_SLACK,
                                                           max(dated) + COMPLETION_SLACK, wanted))
        for number in sorted(wanted - refs.keys()):
            order = self._get("/SalesOrders", orderNumber=number).get("Items") or []
            if order and order[0].get("CustomerRef"):
                refs[number] = order[0]["CustomerRef"]
        if len(self._order_refs) > 20_000:
            self._order_refs.clear()
        self._order_refs.update(refs)
        return refs

    def _references_completed_between(self, start: datetime, end: datetime, wanted: set[str]) -> dict[str, str]:
        refs: dict[str, str] = {}
        page, more = 1, True
        while more and len(refs) < len(wanted):
            body = self._get(f"/SalesOrders/{page}", orderStatus="Completed", pageSize=self.max_page_size,
                             completedAfter=convert.wire_date(start), completedBefore=convert.wire_date(end))
            for order in body.get("Items") or []:
                if order.get("OrderNumber") in wanted and order.get("CustomerRef"):
                    refs[order["OrderNumber"]] = order["CustomerRef"]
            more = not last_page(body, page)
            page += 1
        return refs
    def _taxes_list(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._taxes is None:
                self._taxes = self._get("/Taxes").get("Items") or []
            return self._taxes

    def tax_code(self, rate: Decimal, pos_tax_id: str | None) -> str:
        """The Unleashed revenue tax code for a POS tax: by rate, unless ``tax_map`` names one.

        ``tax_map`` keys may be the POS tax id or the rate (``"15%"`` or ``"0.15"``): where two
        Unleashed codes share a rate (https://apidocs.unleashedsoftware.com/Taxes: codes are not unique by
        rate), the retailer says which one to use.
        """
        explicit = tax_map_lookup(self.context.settings.get("tax_map") or {}, rate, pos_tax_id)
        if explicit:
            return explicit
        revenue = [t for t in self._taxes_list() if t.get("CanApplyToRevenue", True) and not t.get("Obsolete")]
        matches = sorted({t["TaxCode"] for t in revenue
                          if convert.dec(t.get("TaxRate")).quantize(Decimal("0.0001")) == rate.quantize(Decimal("0.0001"))})
        if len(matches) == 1:
            return matches[0]
        key = percent(rate)
        if not matches:
            raise RecordRejected(f"no Unleashed tax code has the rate {key}",
                                 fix=f"add a {key} tax rate in Unleashed (Settings → Taxes), or pick the tax code to use "
                                     f"on the Configuration tab → Advanced → Tax mapping (or "
                                     f"{command('settings', 'set', 'tax_map', json.dumps({key: 'CODE'}), '-c', self.context.connection)}); "
                                     f"then press Re-import (or {command('reimport', '--entity', 'sale', '-c', self.context.connection)})")
        raise RecordRejected(f"several Unleashed tax codes have the rate {key}: {', '.join(matches)}",
                             fix=f"say which on the Configuration tab → Advanced → Tax mapping (or "
                                 f"{command('settings', 'set', 'tax_map', json.dumps({key: matches[0]}), '-c', self.context.connection)}); "
                                 f"then press Re-import (or {command('reimport', '--entity', 'sale', '-c', self.context.connection)})")

    def _ensure_default_customer(self) -> str:
        with self._ensure_lock:
            with self._lock:
                if self._default_customer:
                    return self._default_customer
            code = str(self.context.settings.get("default_customer") or "WALKIN")
            guid = self._existing("Customers", "customerCode", "CustomerCode", code)
            if guid is None:
                guid = self.det_id("customer", code)
                self._post(f"/Customers/{guid}", {"Guid": guid, "CustomerCode": code, "CustomerName": "Walk-in customer"},
                           "creating the walk-in customer")
            with self._lock:
                self._default_customer = guid
            return guid

    def _ensure_discount_product(self) -> str:
        with self._ensure_lock:
            with self._lock:
                if self._discount_product:
                    return self._discount_product
            guid = self._existing("Products", "productCode", "ProductCode", DISCOUNT_CODE)
            if guid is None:
                guid = self.det_id("product", DISCOUNT_CODE)
                self._post(f"/Products/{guid}", {"Guid": guid, "ProductCode": DISCOUNT_CODE,
                                                 "ProductDescription": "Discount", "NeverDiminishing": True},
                           "creating the discount product")
            with self._lock:
                self._discount_product = guid
            return guid

    def sales_order_body(self, o: Outgoing) -> dict[str, Any]:
        """The order for one POS sale: list prices, line discounts as rates, exact totals.

        Each line carries the list price and the POS's line discount as its ``DiscountRate``
        (a fraction, https://apidocs.unleashedsoftware.com/SalesOrders), so that revenue per product is
        what the product sold for; ``LineTotal`` = quantity × price × (1 − rate), to the cent. A sale-level discount and
        the POS's own rounding beyond a cent a line go to one line of the discount product
        (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction: "a
        special discount product ... used for sale-level discount lines"), as
        Unleashed's own integration does. The order's Total is the sale's total to the cent;
        SubTotal = Σ LineTotal and TaxTotal = Σ LineTax exactly, as Unleashed checks.
        """
        sale = o.entity
        assert isinstance(sale, Sale)
        lines: list[dict[str, Any]] = []
        exact: list[Decimal] = []  # each line's unrounded total, to place rounding cents well
        for number, line in enumerate(sale.lines, start=1):
            code = self.tax_code(line.tax_rate, line.tax_id)
            price, rate = line_price(line.unit_price, line.unit_discount)
            value = line.quantity * price * (1 - rate)
            total = cents(value)
            exact.append(value)
            lines.append({"LineNumber": number, "Product": {"Guid": line.product_id},
                          "OrderQuantity": line.quantity, "UnitPrice": price, "DiscountRate": rate,
                          "LineTotal": total, "LineTax": cents(total * line.tax_rate), "LineTaxCode": code,
                          "TaxRate": line.tax_rate})
        target_sub = cents(sale.subtotal)
        target_tax = cents(sale.subtotal + sale.tax_total) - target_sub
        sub_gap = target_sub - sum((ln["LineTotal"] for ln in lines), Decimal(0))
        tax_gap = target_tax - sum((ln["LineTax"] for ln in lines), Decimal(0))
        rounding_only = abs(sub_gap) <= ROUNDING_PER_LINE * len(lines)
        if lines and rounding_only:
            _spread_rounding(lines, exact, sub_gap)
            if tax_gap:
                max(lines, key=lambda ln: ln["LineTotal"])["LineTax"] += tax_gap
        elif sub_gap or tax_gap:
            code = lines[0]["LineTaxCode"] if lines else self.tax_code(Decimal(0), None)
            lines.append({"LineNumber": len(lines) + 1, "Product": {"Guid": self._ensure_discount_product()},
                          "OrderQuantity": 1, "UnitPrice": sub_gap, "DiscountRate": 0, "LineTotal": sub_gap,
                          "LineTax": tax_gap, "LineTaxCode": code, "Comments": "Discount"})
        sub = sum((ln["LineTotal"] for ln in lines), Decimal(0))
        tax_total = sum((ln["LineTax"] for ln in lines), Decimal(0))
        customer = ({"Guid": sale.customer_id} if sale.customer_id else {"Guid": self._ensure_default_customer()})
        first_code = next((ln["LineTaxCode"] for ln in lines if ln.get("LineTaxCode")), None)
        body: dict[str, Any] = {
            "Guid": o.target_id, "OrderStatus": "Parked",
            "OrderDate": sale.sale_date.strftime("%Y-%m-%dT%H:%M:%S"),
            "RequiredDate": sale.sale_date.strftime("%Y-%m-%dT%H:%M:%S"),
            "Customer": customer, "Warehouse": {"Guid": sale.location_id},
            "CustomerRef": sale.number, "Comments": f"{(o.source_system or 'POS').title()} sale {sale.number}",
            "SourceId": f"{o.source_system or 'pos'}:{o.source_id}",
            "SubTotal": sub, "TaxTotal": tax_total, "Total": sub + tax_total,
            "SalesOrderLines": lines, "ExchangeRate": 1,
        }
        if first_code:
            body["Tax"] = {"TaxCode": first_code}
        group = self.context.settings.get("sales_group")
        if group:
            body["SalesOrderGroup"] = group
        return body

    def _push_sale(self, o: Outgoing) -> PushResult:
        if o.exists:
            # Bound already: the order exists. A sale is imported once; a later change of the
            # POS sale (a note, a payment) does not re-create or rewrite the order.
            return PushResult(o.source_id, "unchanged", target_id=o.target_id)
        body = self.sales_order_body(o)
        sale = o.entity
        assert isinstance(sale, Sale)
        needs = self._stock_needs(body)
        if self._known_stock.short(sale.location_id, needs):
            # Known short (the stock we read or took in, less what orders took since): create it
            # Parked and complete it, two calls, instead of a Completed create that Unleashed
            # would refuse. Completing still completes it if stock arrived meanwhile.
            return self._create_parked(o, body, needs, refused=None)
        # A POS sale is a finished sale: create it Completed, one call
        # (https://apidocs.unleashedsoftware.com/SalesOrders: "create as
        # Parked (or Completed for POS sales)"). Parked-then-Complete cost two calls per sale.
        try:
            response = self._post(f"/SalesOrders/{o.target_id}", {**body, "OrderStatus": "Completed"},
                                  "creating a sales order")
        except RemoteError as exc:
            if exc.status != 400:
                raise
            return self._create_parked(o, body, needs, refused=exc)
        order = response.json() if response.content else {}
        if order.get("OrderStatus", "Completed") == "Completed":
            self._known_stock.take(sale.location_id, needs)
            return PushResult(o.source_id, "created", target_id=o.target_id)
        # The Guid was taken by an earlier attempt that left the order Parked: complete it.
        return self._complete_order(o, order, needs, fresh=False)

    def _create_parked(self, o: Outgoing, body: dict[str, Any], needs: list[tuple[str, Decimal]],
                       refused: RemoteError | None) -> PushResult:
        """Create the order Parked, then complete it (which parks it with the stock allocated
        when stock is short,
        https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction); never
        make a second order. ``refused``: why a Completed
        create was refused (stock short, the order invalid, or a POST whose answer was lost was
        retried and the Guid is taken: https://apidocs.unleashedsoftware.com/SalesOrders [?], a second
        POST may answer 400)."""
        try:
            response = self._post(f"/SalesOrders/{o.target_id}", body, "creating a sales order")
            order = response.json() if response.content else {}
            fresh = response.status_code == 201
        except RemoteError as exc:
            if exc.status != 400:
                raise
            order = self._existing_order(o.target_id)
            if order is None:
                raise (refused or exc) from None  # invalid either way: the first reason is the one to fix
            fresh = False
        if order.get("OrderStatus") == "Completed":
            return PushResult(o.source_id, "created", target_id=o.target_id)
        return self._complete_order(o, order, needs, fresh=fresh)

    def _complete_order(self, o: Outgoing, order: dict[str, Any], needs: list[tuple[str, Decimal]],
                        *, fresh: bool) -> PushResult:
        """``fresh``: we created the order Parked just now, so a refused Complete cannot be a
        retried one whose first answer was lost: it is short of stock, no need to look."""
        sale = o.entity
        assert isinstance(sale, Sale)
        try:
            self.request("POST", f"/SalesOrders/{o.target_id}/Complete", what="completing a sales order")
        except RemoteError as exc:
            if exc.status != 400:
                raise
            now = {} if fresh else (self._existing_order(o.target_id) or {})
            if now.get("OrderStatus") == "Completed":  # a retried Complete whose first answer was lost
                return PushResult(o.source_id, "created", target_id=o.target_id)
            # https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction:
            # when stock is short the order stays Parked with the stock allocated.
            self._known_stock.take(sale.location_id, needs)
            self._known_stock.ran_short(sale.location_id, [product for product, _ in needs])
            number = order.get("OrderNumber") or now.get("OrderNumber") or o.target_id
            return PushResult(o.source_id, "created", target_id=o.target_id,
                              note=f"order {number} is parked: not enough stock to complete it "
                                   f"({reason(exc)}); stock is allocated, complete it in Unleashed "
                                   "once stock arrives")
        self._known_stock.take(sale.location_id, needs)
        return PushResult(o.source_id, "created", target_id=o.target_id)

    def _stock_needs(self, body: dict[str, Any]) -> list[tuple[str, Decimal]]:
        """Quantities of stocked products an order takes (not the discount or non-stock ones)."""
        needs: dict[str, Decimal] = {}
        with self._lock:
            skip = self._never_diminishing | ({self._discount_product} if self._discount_product else set())
        for line in body["SalesOrderLines"]:
            guid = line["Product"]["Guid"]
            if guid not in skip:
                needs[guid] = needs.get(guid, Decimal(0)) + Decimal(str(line["OrderQuantity"]))
        return list(needs.items())

    def _existing_order(self, guid: str) -> dict[str, Any] | None:
        try:
            found = self._get(f"/SalesOrders/{guid}")
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) and found.get("Guid") else None


#: Places of a line's DiscountRate: a rate rounded here moves a line of 10,000.00 by under a cent.
RATE_PLACES = Decimal("0.00000001")


def line_price(unit_price: Decimal, unit_discount: Decimal) -> tuple[Decimal, Decimal]:
    """(UnitPrice, DiscountRate) of a POS line: the list price and the discount as a fraction.

    A discount Unleashed cannot express as a rate between 0 and 1 (a price raised above the list
    price, a line given away at a list price of zero) goes on the line as the price charged.
    """
    if not unit_discount:
        return unit_price, Decimal(0)
    if unit_price > 0 and 0 < unit_discount <= unit_price:
        return unit_price, (unit_discount / unit_price).quantize(RATE_PLACES)
    return unit_price - unit_discount, Decimal(0)


def percent(rate: Decimal) -> str:
    """A rate as the retailer writes it: 0.15 → ``15%``."""
    return f"{format((rate * 100).normalize(), 'f')}%"


def tax_map_lookup(mapping: dict[str, str], rate: Decimal, pos_tax_id: str | None) -> str | None:
    """``tax_map`` by POS tax id, by percentage (``"15%"``) or by fraction (``"0.15"``)."""
    wanted = {pos_tax_id or "", percent(rate), format(rate.normalize(), "f")}
    for key, code in mapping.items():
        text = key.strip()
        if text in wanted:
            return str(code)
        try:
            if text.endswith("%") and Decimal(text[:-1]) / 100 == rate:
                return str(code)
            if not text.endswith("%") and Decimal(text) == rate:
                return str(code)
        except ArithmeticError:
            continue
    return None


def _spread_rounding(lines: list[dict[str, Any]], exact: list[Decimal], gap: Decimal) -> None:
    """Move the POS's rounding (a few cents) onto the lines whose own rounding went the other way,
    one cent each, so every LineTotal stays within a cent of quantity × price."""
    step = CENT if gap > 0 else -CENT
    residue = [(exact[i] - lines[i]["LineTotal"], i) for i in range(len(lines))]
    order = sorted(residue, reverse=gap > 0)
    for _, i in order:
        if not gap:
            return
        lines[i]["LineTotal"] += step
        gap -= step
    if gap:
        lines[-1]["LineTotal"] += gap
