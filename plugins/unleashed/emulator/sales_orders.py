"""Sales orders: create with the caller's Guid, update while Parked, complete, delete.

https://apidocs.unleashedsoftware.com/SalesOrders (fields, create body, totals),
https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction
(what completing does). Choices where the sources are silent are marked [I] / [?] next to the code that makes them.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Sequence

from .errors import UnleashedError, not_found
from .invoices import create_invoice
from .lookups import (
    currency_ref, customer_ref, product_ref, resolve_currency, resolve_customer, resolve_product,
    resolve_tax, resolve_warehouse, tax_ref, warehouse_ref,
)
from .query import Lazy, Query, in_guid_list, modified_since, starts_with
from .state import ZERO, Record, StockKey, UnleashedState
from .stock import Shortage, allocate, move, plan_consumption, release
from .validation import Problems, check_guid_matches
from .wire import CENT, money, parse_body_date, parse_decimal

# https://apidocs.unleashedsoftware.com/SalesOrders [?]: which statuses an API create may set is
# unresolved; the help centre shows
# integrations creating Parked, Placed or Backordered orders, and POS sales arrive Completed.
CREATE_STATUSES = ("Parked", "Placed", "Backordered", "Completed")
EDITABLE_STATUSES = ("Parked", "Placed", "Backordered")
# Placed and Backordered orders hold stock, as in the Unleashed UI [I].
ALLOCATING_STATUSES = ("Placed", "Backordered")
TOLERANCE = CENT  # https://apidocs.unleashedsoftware.com/SalesOrders [I]: reject mismatches beyond rounding (0.01)
ONE = Decimal("1")

TEXT_FIELDS: dict[str, int | None] = {
    "CustomOrderStatus": 15, "CustomerRef": 500, "Comments": 2048, "DeliveryName": 500,
    "DeliveryStreetAddress": 500, "DeliveryStreetAddress2": 500, "DeliverySuburb": 500,
    "DeliveryCity": 500, "DeliveryRegion": 500, "DeliveryCountry": 500, "DeliveryPostCode": 50,
    "DeliveryMethod": 100, "DeliveryInstruction": 500, "SalesAccount": 50, "SourceId": 500,
    "CreatedBy": 256,
}
TOTAL_FIELDS = ("SubTotal", "TaxTotal", "Total")


# --- building an order from a body -------------------------------------------------------------
def _default_tax(state: UnleashedState, customer: Record) -> Record:
    """Order tax when the body names none: the customer's, else NONE if untaxed, else G.S.T. [I]."""
    if customer.get("TaxCode"):
        return resolve_tax(state, customer["TaxCode"], "Tax")
    code = "NONE" if customer.get("Taxable") is False else "G.S.T."
    try:
        return resolve_tax(state, code, "Tax")
    except UnleashedError:
        return next(t for t in state.taxes.values() if t["CanApplyToRevenue"])


def _sales_group(state: UnleashedState, problems: Problems, value: Any) -> str | None:
    if value in (None, ""):
        return None
    for group in state.sales_groups.values():
        if group["GroupName"].upper() == str(value).upper() and not group["Obsolete"]:
            return group["GroupName"]
    problems.add("SalesOrderGroup", f"Sales order group '{value}' does not exist.")
    return None


def _salesperson(body: dict[str, Any], previous: Record | None) -> Any:
    for spelling in ("SalesPerson", "Salesperson"):
        if spelling in body:
            return body[spelling]
    return (previous or {}).get("SalesPerson")


def _check_total(problems: Problems, strict: bool, field: str, given: Decimal | None, expected: Decimal) -> Decimal:
    if given is None:
        return money(expected)
    if strict and abs(given - expected) > TOLERANCE:
        problems.add(field, f"{field} is {given} but should be {money(expected)}.")
    return given


def _line(
    state: UnleashedState, problems: Problems, entry: Any, index: int, order: Record, tax: Record, exchange: Decimal
) -> Record | None:
    field = f"SalesOrderLines[{index}]"
    if not isinstance(entry, dict):
        problems.add(field, "Each line must be an object.")
        return None
    line_type = entry.get("LineType") or None
    if line_type not in (None, "Discount"):
        problems.add(f"{field}.LineType", f"LineType '{line_type}' is not supported (null or Discount).")
    product: Record | None = None
    if entry.get("Product") or line_type is None:
        try:
            product = resolve_product(state, entry.get("Product"), f"{field}.Product")
        except UnleashedError as exc:
            problems.add(f"{field}.Product", exc.description)
            return None
        if product["Obsolete"]:
            problems.add(f"{field}.Product", f"Product '{product['ProductCode']}' is obsolete.")
    quantity = problems.decimal(entry, "OrderQuantity")
    if quantity is None and line_type == "Discount":
        quantity = ONE
    if quantity is None or quantity <= 0:
        # https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction:
        # negative quantities are impossible on an Unleashed invoice (returns are not imported).
        problems.add(f"{field}.OrderQuantity", "OrderQuantity must be greater than 0.")
        quantity = ONE
    price = problems.decimal(entry, "UnitPrice")
    if price is None:
        price = (product or {}).get("DefaultSellPrice") or ZERO  # default price [I]
    # A sale-level discount arrives as a Discount line or as a line of a special non-stock
    # "discount product"
    # (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction); only
    # such non-stock products may carry a negative price [I].
    if price < 0 and line_type is None and not (product or {}).get("NeverDiminishing"):
        problems.add(f"{field}.UnitPrice", "UnitPrice cannot be negative on a stocked product line (use a Discount line or a non-stock discount product).")
    discount = problems.decimal(entry, "DiscountRate") or ZERO
    if not ZERO <= discount <= ONE:
        problems.add(f"{field}.DiscountRate", "DiscountRate is a fraction between 0 and 1.")
    line_tax_rec = tax
    if entry.get("LineTaxCode"):
        try:
            line_tax_rec = resolve_tax(state, str(entry["LineTaxCode"]), f"{field}.LineTaxCode")
        except UnleashedError as exc:
            problems.add(f"{field}.LineTaxCode", exc.description)
    rate = line_tax_rec["TaxRate"] or ZERO
    expected_total = quantity * price * (ONE - discount)
    line_total = _check_total(problems, state.settings.strict_totals, f"{field}.LineTotal", problems.decimal(entry, "LineTotal"), expected_total)
    line_tax = problems.decimal(entry, "LineTax")
    if line_tax is None:
        line_tax = money(line_total * rate)
    avg = (product or {}).get("AverageLandPrice") or ZERO
    weight = ((product or {}).get("Weight") or ZERO) * quantity
    volume = ZERO
    if product and product.get("Width") and product.get("Height") and product.get("Depth"):
        volume = product["Width"] * product["Height"] * product["Depth"] * quantity
    try:
        due = parse_body_date(f"{field}.DueDate", entry.get("DueDate")) or order["RequiredDate"]
    except UnleashedError as exc:
        problems.add(f"{field}.DueDate", exc.description)
        due = order["RequiredDate"]
    return {
        "Guid": str(entry.get("Guid") or state.new_id()).lower(),
        "LineNumber": int(entry.get("LineNumber") or index + 1),
        "LineType": line_type,
        "Product": product_ref(product) if product else None,
        "DueDate": due,
        "OrderQuantity": quantity,
        "UnitPrice": price,
        "DiscountRate": discount,
        "LineTotal": line_total,
        "LineTax": line_tax,
        "LineTaxCode": line_tax_rec["TaxCode"],
        "TaxRate": rate,
        "XeroTaxCode": line_tax_rec["TaxCode"],
        "XeroSalesAccount": (product or {}).get("XeroSalesAccount"),
        "BCUnitPrice": (price / exchange).quantize(Decimal("0.0001")),
        "BCLineTotal": money(line_total / exchange),
        "BCLineTax": money(line_tax / exchange),
        "AverageLandedPriceAtTimeOfSale": avg,
        "UnitCost": avg,
        "Comments": entry.get("Comments"),
        "Volume": volume,
        "Weight": weight,
        "CostOfGoodsAccount": (product or {}).get("XeroCostOfGoodsAccount"),
        "Assembly": None,
        "SerialNumbers": None,
        "BatchNumbers": None,
        "LastModifiedOn": state.now(),
    }


def _build(state: UnleashedState, guid: str, body: dict[str, Any], previous: Record | None) -> Record:
    """A complete, validated order record from ``body`` (merged over ``previous`` on update)."""
    merged: dict[str, Any] = dict(previous or {})
    for field in TOTAL_FIELDS:
        merged.pop(field, None)  # totals are never inherited: recomputed unless the body sends them
    merged.update(body)
    problems = Problems()
    now = state.now()
    record: Record = {"Guid": guid}

    number = merged.get("OrderNumber")
    if number not in (None, ""):
        number = str(number)
        if len(number) > 20:
            problems.add("OrderNumber", "OrderNumber must be 20 characters or fewer.")
        holder = state.order_numbers.get(number.upper())
        if holder is not None and holder != guid:
            problems.add("OrderNumber", f"Order number '{number}' is already used by another sales order.")
    record["OrderNumber"] = number or None
    for field in ("OrderDate", "RequiredDate", "PaymentDueDate", "ReceivedDate"):
        try:
            record[field] = parse_body_date(field, merged.get(field))
        except UnleashedError as exc:
            problems.add(field, exc.description)
            record[field] = None
    record["OrderDate"] = record["OrderDate"] or now
    record["RequiredDate"] = record["RequiredDate"] or record["OrderDate"]
    record["CompletedDate"] = previous.get("CompletedDate") if previous else None

    status = merged.get("OrderStatus") or "Parked"
    allowed = CREATE_STATUSES if previous is None else EDITABLE_STATUSES
    if status not in allowed:
        problems.add("OrderStatus", f"OrderStatus '{status}' cannot be set here; use one of {', '.join(allowed)}.")
        status = "Parked"
    record["OrderStatus"] = status

    customer = warehouse = currency = None
    try:
        customer = resolve_customer(state, merged.get("Customer"))
    except UnleashedError as exc:
        problems.add("Customer", exc.description)
    try:
        # A WarehouseCode in the body beats the warehouse the order had before.
        warehouse_ref_body = body.get("Warehouse") if ("Warehouse" in body or "WarehouseCode" in body) else merged.get("Warehouse")
        warehouse = resolve_warehouse(state, warehouse_ref_body, body.get("WarehouseCode"))
    except UnleashedError as exc:
        problems.add("Warehouse", exc.description)
    try:
        currency = resolve_currency(state, merged.get("Currency"))
    except UnleashedError as exc:
        problems.add("Currency", exc.description)
    if customer is None or warehouse is None:
        problems.raise_if_any("The sales order is not valid")
    assert customer is not None and warehouse is not None
    currency = currency or state.currencies.get(customer["CurrencyId"]) or state.base_currency()
    base = currency["CurrencyCode"] == state.settings.base_currency
    exchange = parse_decimal("ExchangeRate", merged.get("ExchangeRate")) or (ONE if base else currency.get("DefaultSellRate") or ONE)
    if exchange <= 0:
        problems.add("ExchangeRate", "ExchangeRate must be greater than 0.")
        exchange = ONE

    tax = None
    tax_body = merged.get("Tax")
    tax_code = tax_body.get("TaxCode") if isinstance(tax_body, dict) else None
    try:
        tax = resolve_tax(state, str(tax_code), "Tax") if tax_code else _default_tax(state, customer)
    except UnleashedError as exc:
        problems.add("Tax.TaxCode", exc.description)
        tax = _default_tax(state, customer)

    record.update({
        "Customer": customer_ref(customer),
        "Warehouse": warehouse_ref(warehouse),
        "Currency": currency_ref(currency),
        "ExchangeRate": exchange,
        "DiscountRate": problems.decimal(merged, "DiscountRate", minimum=ZERO) or ZERO,
        "Tax": tax_ref(tax),
        "TaxRate": tax["TaxRate"],
        "XeroTaxCode": tax["TaxCode"],
        "SalesOrderGroup": _sales_group(state, problems, merged.get("SalesOrderGroup")),
        # https://apidocs.unleashedsoftware.com/SalesOrders [?]: emit ``SalesPerson``; accept either spelling on input.
        "SalesPerson": copy.deepcopy(_salesperson(body, previous)),
        "SendAccountingJournalOnly": bool(merged.get("SendAccountingJournalOnly") or False),
        "SaveAddress": bool(merged.get("SaveAddress") or False),
        "AllocateProduct": bool(merged.get("AllocateProduct", True)),
    })
    for field, max_len in TEXT_FIELDS.items():
        record[field] = problems.text(merged, field, max_len=max_len)
    record["DeliveryContact"] = copy.deepcopy(merged.get("DeliveryContact"))
    record["CreatedBy"] = record["CreatedBy"] or state.settings_user()

    raw_lines = merged.get("SalesOrderLines")
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.add("SalesOrderLines", "A sales order needs at least one line.")
        raw_lines = []
    lines = [_line(state, problems, entry, i, record, tax, exchange) for i, entry in enumerate(raw_lines)]
    record["SalesOrderLines"] = [ln for ln in lines if ln is not None]

    strict = state.settings.strict_totals
    sub = sum((ln["LineTotal"] for ln in record["SalesOrderLines"]), ZERO)
    tax_total = sum((ln["LineTax"] for ln in record["SalesOrderLines"]), ZERO)
    record["SubTotal"] = _check_total(problems, strict, "SubTotal", problems.decimal(merged, "SubTotal"), sub)
    record["TaxTotal"] = _check_total(problems, strict, "TaxTotal", problems.decimal(merged, "TaxTotal"), tax_total)
    record["Total"] = _check_total(problems, strict, "Total", problems.decimal(merged, "Total"), record["SubTotal"] + record["TaxTotal"])
    problems.raise_if_any("The sales order is not valid")

    record["BCSubTotal"] = money(record["SubTotal"] / exchange)
    record["BCTaxTotal"] = money(record["TaxTotal"] / exchange)
    record["BCTotal"] = money(record["Total"] / exchange)
    record["TotalVolume"] = sum((ln["Volume"] for ln in record["SalesOrderLines"]), ZERO)
    record["TotalWeight"] = sum((ln["Weight"] for ln in record["SalesOrderLines"]), ZERO)
    record["CreatedOn"] = previous["CreatedOn"] if previous else now
    record["LastModifiedBy"] = state.settings_user()
    record["LastModifiedOn"] = now
    return record


# --- stock needs --------------------------------------------------------------------------------
def _needs(state: UnleashedState, order: Record) -> list[tuple[str, Decimal]]:
    """Stocked product quantities the order takes, in line order (discount lines take none)."""
    needs: dict[str, Decimal] = {}
    for line in sorted(order["SalesOrderLines"], key=lambda ln: ln["LineNumber"]):
        product = state.products.get(line["Product"]["Guid"]) if line.get("Product") else None
        if product is None or line.get("LineType") == "Discount" or product["NeverDiminishing"]:
            continue
        needs[product["Guid"]] = needs.get(product["Guid"], ZERO) + line["OrderQuantity"]
    return list(needs.items())


def _allocate_lines(state: UnleashedState, order: Record) -> None:
    warehouse = order["Warehouse"]["Guid"]
    quantities: dict[StockKey, Decimal] = {(p, warehouse): q for p, q in _needs(state, order)}
    allocate(state, order["Guid"], quantities)


def _sync_allocation(state: UnleashedState, order: Record) -> None:
    if order["OrderStatus"] in ALLOCATING_STATUSES or order["Guid"] in state.allocated_by_completion:
        _allocate_lines(state, order)
    else:
        release(state, order["Guid"])


# --- operations ---------------------------------------------------------------------------------
def create_order(state: UnleashedState, guid: str, body: dict[str, Any]) -> tuple[Record, int]:
    """``POST /SalesOrders/{Guid}``: (order, 201), or the existing order for a repeated Guid."""
    guid = guid.lower()
    check_guid_matches(guid, body)
    existing = state.orders.get(guid)
    if existing is not None:
        # https://apidocs.unleashedsoftware.com/SalesOrders [?] idempotency: a retried POST cannot create a
        # second order with the Guid.
        if state.settings.duplicate_order_post == "error":
            raise UnleashedError(400, f"A sales order with Guid '{guid}' already exists ({existing['OrderNumber']}).", field="Guid")
        return existing, 200
    record = _build(state, guid, body, None)
    wants_completed = record["OrderStatus"] == "Completed"
    if wants_completed:
        record["OrderStatus"] = "Parked"
        _, shortages = plan_consumption(state, record["Warehouse"]["Guid"], _needs(state, record), None)
        if shortages:
            # Created Completed means "sold": with stock short nothing is stored, so the caller can
            # create it Parked and complete later (which parks and allocates) [I].
            raise _insufficient(state, record, shortages)
    if record["OrderNumber"] is None:
        record["OrderNumber"] = _next_order_number(state)
    state.orders[guid] = record
    state.order_numbers[record["OrderNumber"].upper()] = guid
    state.emit("salesorder.created", {"salesOrderGuid": guid})
    if wants_completed:
        complete_order(state, guid)
    else:
        _sync_allocation(state, record)
    return state.orders[guid], 201


def _next_order_number(state: UnleashedState) -> str:
    while True:
        number = state.next_number("SO")
        if number.upper() not in state.order_numbers:
            return number


def update_order(state: UnleashedState, guid: str, body: dict[str, Any]) -> Record:
    """``PUT /SalesOrders/{Guid}``: only while Parked (https://apidocs.unleashedsoftware.com/SalesOrders; other
    states are refused) [I]."""
    guid = guid.lower()
    check_guid_matches(guid, body)
    previous = state.orders.get(guid)
    if previous is None:
        raise not_found("Sales order", guid)
    if previous["OrderStatus"] != "Parked":
        raise UnleashedError(400, f"Sales order {previous['OrderNumber']} is {previous['OrderStatus']}; only Parked orders can be updated.", field="OrderStatus")
    record = _build(state, guid, body, previous)
    record["OrderNumber"] = record["OrderNumber"] or previous["OrderNumber"]
    state.orders[guid] = record
    if record["OrderNumber"].upper() != previous["OrderNumber"].upper():
        state.order_numbers.pop(previous["OrderNumber"].upper(), None)
        state.order_numbers[record["OrderNumber"].upper()] = guid
    _sync_allocation(state, record)
    state.emit("salesorder.updated", {"salesOrderGuid": guid})
    return record


def delete_order(state: UnleashedState, guid: str) -> Record:
    """``DELETE /SalesOrders/{Guid}``: status becomes Deleted (hidden from lists by default)."""
    order = state.orders.get(guid.lower())
    if order is None:
        raise not_found("Sales order", guid)
    if order["OrderStatus"] not in ("Parked", "Deleted"):
        raise UnleashedError(400, f"Sales order {order['OrderNumber']} is {order['OrderStatus']}; only Parked orders can be deleted.", field="OrderStatus")
    release(state, order["Guid"])
    state.allocated_by_completion.discard(order["Guid"])
    order["OrderStatus"] = "Deleted"
    order["LastModifiedOn"] = state.now()
    state.emit("salesorder.updated", {"salesOrderGuid": order["Guid"]})
    return order


def _insufficient(state: UnleashedState, order: Record, shortages: list[Shortage]) -> UnleashedError:
    """The 400 for short stock; the wording is ours (no source shows Unleashed's) [I]."""
    warehouse = order["Warehouse"]["WarehouseCode"]
    items = []
    for short in shortages:
        code = state.products[short.product_guid]["ProductCode"]
        items.append({"Field": "SalesOrderLines", "Message": f"Insufficient stock of '{code}' in warehouse {warehouse}: required {short.required.normalize():f}, available {short.available.normalize():f}."})
    name = order.get("OrderNumber") or order["Guid"]
    return UnleashedError(400, f"Insufficient stock to complete sales order {name} in warehouse {warehouse}.", items=items)


def complete_order(state: UnleashedState, guid: str) -> tuple[Record, list[Shortage]]:
    """Complete if stock allows (auto-assembling kits), else park with stock allocated
    (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction).

    Completing a Completed order again changes nothing (idempotent) [I].
    """
    order = state.orders.get(guid.lower())
    if order is None:
        raise not_found("Sales order", guid)
    if order["OrderStatus"] == "Completed":
        return order, []
    if order["OrderStatus"] == "Deleted":
        raise UnleashedError(400, f"Sales order {order['OrderNumber']} is Deleted and cannot be completed.", field="OrderStatus")
    warehouse = order["Warehouse"]["Guid"]
    needs = _needs(state, order)
    deltas, shortages = plan_consumption(state, warehouse, needs, order["Guid"])
    if shortages:
        state.allocated_by_completion.add(order["Guid"])
        _allocate_lines(state, order)
        order["LastModifiedOn"] = state.now()
        state.emit("salesorder.updated", {"salesOrderGuid": order["Guid"]})
        return order, shortages
    release(state, order["Guid"])
    state.allocated_by_completion.discard(order["Guid"])
    sold = {p for p, _ in needs}
    for product_guid, delta in sorted(deltas.items()):
        reason = "Sales order" if product_guid in sold else "Auto-assembly"
        move(state, product_guid, warehouse, delta, reason, order["OrderNumber"])
    now = state.now()
    for product_guid in sold:
        level = state.level(product_guid, warehouse, create=True)
        assert level is not None
        level.last_sale = now
        state.revision += 1
    for line in order["SalesOrderLines"]:
        product = state.products.get(line["Product"]["Guid"]) if line.get("Product") else None
        if product is not None:
            cost = product.get("AverageLandPrice") or ZERO
            line["AverageLandedPriceAtTimeOfSale"] = line["UnitCost"] = cost
    order["OrderStatus"] = "Completed"
    order["CompletedDate"] = now
    order["LastModifiedOn"] = now
    create_invoice(state, order)
    state.emit("salesorder.updated", {"salesOrderGuid": order["Guid"]})
    return order, []


def complete_or_raise(state: UnleashedState, guid: str) -> Record:
    """The HTTP form of completing: short stock is a 400 after parking and allocating."""
    order, shortages = complete_order(state, guid)
    if shortages:
        raise _insufficient(state, order, shortages)
    return order


# --- listing ------------------------------------------------------------------------------------
def list_orders(state: UnleashedState, q: Query) -> Sequence[Record]:
    """``GET /SalesOrders`` with the filters of https://apidocs.unleashedsoftware.com/SalesOrders
    (ordered by OrderNumber [I])."""
    number = q.get("orderNumber")
    if number is not None:  # https://apidocs.unleashedsoftware.com/SalesOrders: orderNumber overrides all other filters
        guid = state.order_numbers.get(number.upper())
        return [copy.deepcopy(state.orders[guid])] if guid in state.orders else []
    source = q.get("sourceId")
    if source is not None:  # https://apidocs.unleashedsoftware.com/SalesOrders: sourceId overrides the others
        rows = [o for o in state.orders.values() if o.get("SourceId") == source]
        return [copy.deepcopy(o) for o in sorted(rows, key=lambda o: o["OrderNumber"])]
    custom = q.csv("customOrderStatus")
    statuses = q.csv("orderStatus")
    since = q.date("modifiedSince")
    start, end = q.date("startDate"), q.date_upper("endDate")
    done_after, done_before = q.date("completedAfter"), q.date_upper("completedBefore")
    customer_code, customer_ids, warehouse_code = q.get("customerCode"), q.csv("customerId"), q.get("warehouseCode")
    rows = []
    for o in state.orders.values():
        if custom is not None:
            if (o.get("CustomOrderStatus") or "").upper() not in {c.upper() for c in custom}:
                continue
        elif statuses is not None:
            if o["OrderStatus"].upper() not in {s.upper() for s in statuses}:
                continue
        elif o["OrderStatus"] == "Deleted":
            continue  # https://apidocs.unleashedsoftware.com/SalesOrders: Deleted is excluded unless asked for
        if not modified_since(o["LastModifiedOn"], since):
            continue
        if (start and o["OrderDate"] < start) or (end and o["OrderDate"] >= end):
            continue
        if done_after and (o["CompletedDate"] is None or o["CompletedDate"] < done_after):
            continue
        if done_before and (o["CompletedDate"] is None or o["CompletedDate"] >= done_before):
            continue
        if not (starts_with(o["Customer"]["CustomerCode"], customer_code) and in_guid_list(o["Customer"]["Guid"], customer_ids)):
            continue
        if not starts_with(o["Warehouse"]["WarehouseCode"], warehouse_code):
            continue
        rows.append(o)
    rows.sort(key=lambda o: o["OrderNumber"])
    return Lazy(rows, copy.deepcopy)
