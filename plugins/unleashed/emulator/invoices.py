"""Sales invoices, made when a sales order completes; read-only over the API.

https://apidocs.unleashedsoftware.com/Invoices: the resource is ``/Invoices`` (list and view only), default
order LastModifiedOn descending, ``pageSize=0`` gives the count. The field list comes from a
third-party dictionary ([C] Connectorly); the totals (SubTotal, TaxTotal, Total and their BC
forms), ``Tax``, ``LineTaxCode`` and the audit dates are added because an invoice cannot be posted to
accounting without them and orders carry the same fields [I].
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Sequence

from .query import Lazy, Query, modified_since, starts_with
from .state import Record, UnleashedState

DELIVERY_FIELDS = (
    "DeliveryName", "DeliveryStreetAddress", "DeliveryStreetAddress2", "DeliverySuburb", "DeliveryCity",
    "DeliveryRegion", "DeliveryCountry", "DeliveryPostCode", "DeliveryMethod", "DeliveryInstruction",
)
LINE_FIELDS = ("LineType", "Product", "OrderQuantity", "UnitPrice", "DiscountRate", "LineTotal", "LineTax", "LineTaxCode", "Comments")


def _payment_term_days(term: str | None) -> int:
    # "20th Month following" is Unleashed's default term; a rough due date is enough here [I].
    return 20 if term else 0


def create_invoice(state: UnleashedState, order: Record) -> Record:
    now = state.now()
    customer = state.customers.get(order["Customer"]["Guid"], {})
    term = customer.get("PaymentTerm")
    guid = state.new_id()
    lines: list[Record] = []
    for line in order["SalesOrderLines"]:
        entry: dict[str, Any] = {"Guid": state.new_id(), "LineNumber": line["LineNumber"]}
        entry.update({k: copy.deepcopy(line[k]) for k in LINE_FIELDS})
        entry["InvoiceQuantity"] = line["OrderQuantity"]
        entry["BatchNumbers"] = None
        entry["LastModifiedOn"] = now
        lines.append(entry)
    invoice: Record = {
        "Guid": guid,
        "InvoiceNumber": state.next_number("SI"),
        "OrderNumber": order["OrderNumber"],
        "InvoiceDate": now,
        "DueDate": order.get("PaymentDueDate") or now + timedelta(days=_payment_term_days(term)),
        "InvoiceStatus": "Completed",
        "Customer": copy.deepcopy(order["Customer"]),
        "Currency": copy.deepcopy(order["Currency"]),
        "ExchangeRate": order["ExchangeRate"],
        "Tax": copy.deepcopy(order["Tax"]),
        "SubTotal": order["SubTotal"],
        "TaxTotal": order["TaxTotal"],
        "Total": order["Total"],
        "BCSubTotal": order["BCSubTotal"],
        "BCTaxTotal": order["BCTaxTotal"],
        "BCTotal": order["BCTotal"],
        "Comments": order.get("Comments"),
        "PaymentTerm": term,
        "PaymentReceived": False,
        **{k: order.get(k) for k in DELIVERY_FIELDS},
        "InvoiceLines": lines,
        "CreatedBy": state.settings_user(),
        "CreatedOn": now,
        "LastModifiedBy": state.settings_user(),
        "LastModifiedOn": now,
    }
    state.invoices[guid] = invoice
    return invoice


def list_invoices(state: UnleashedState, q: Query) -> Sequence[Record]:
    number = q.get("invoiceNumber")
    if number is not None:  # https://apidocs.unleashedsoftware.com/Invoices: invoiceNumber overrides the other filters
        return [copy.deepcopy(i) for i in state.invoices.values() if i["InvoiceNumber"].upper() == number.upper()]
    statuses = q.csv("invoiceStatus")
    since = q.date("modifiedSince")
    start, end = q.date("startDate"), q.date_upper("endDate")
    order_number, customer_code = q.get("orderNumber"), q.get("customerCode")
    rows = []
    for inv in state.invoices.values():
        if statuses is not None:
            if inv["InvoiceStatus"].upper() not in {s.upper() for s in statuses}:
                continue
        elif inv["InvoiceStatus"] == "Deleted":
            continue  # https://apidocs.unleashedsoftware.com/Invoices: Deleted excluded by default
        if not modified_since(inv["LastModifiedOn"], since):
            continue
        if (start and inv["CreatedOn"] < start) or (end and inv["CreatedOn"] >= end):
            continue
        if order_number and inv["OrderNumber"].upper() != order_number.upper():
            continue
        if not starts_with(inv["Customer"]["CustomerCode"], customer_code):
            continue
        rows.append(inv)
    # https://apidocs.unleashedsoftware.com/Invoices: default ordering LastModifiedOn descending.
    rows.sort(key=lambda i: (i["LastModifiedOn"], i["InvoiceNumber"]), reverse=True)
    return Lazy(rows, copy.deepcopy)
