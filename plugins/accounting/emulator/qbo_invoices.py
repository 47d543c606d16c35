"""QuickBooks invoices: validation, line and tax arithmetic, create/update/delete.

Body rules (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice):
``CustomerRef.value`` (an existing, *active* customer —
an inactive one is error 610, per Intuit's handling-common-errors page) and at least one
``Line``; ``SalesItemLineDetail`` lines carry ``Amount`` and ``ItemRef``/``Qty``/``UnitPrice``/
``TaxCodeRef``; ``DiscountLineDetail`` lines a fixed ``Amount`` or ``PercentBased`` +
``DiscountPercent``. ``DocNumber`` (≤21 characters) must be unique in the company when given.
Updates send ``Id`` + the current ``SyncToken`` (else 5010 stale object); ``sparse: true``
changes only the fields sent, otherwise the body replaces the invoice.

Tax follows the non-US ("global") model: each line's TaxCode points at a rate; the discount is
spread over the lines before tax; ``GlobalTaxCalculation`` ``TaxExcluded`` (default) adds tax,
``TaxInclusive`` takes it out of the amounts, ``NotApplicable`` has none. Server-made lines
(``SubTotalLineDetail``) are added to responses and ignored on input, as QuickBooks does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .money import cents, to_decimal
from .qbo_faults import (QboFault, business, inactive_reference, invalid_reference, object_not_found, required,
                         stale, string_length)
from .qbo_settings import QboSettings
from .qbo_state import QboCompany, metadata

ZERO = Decimal("0")
HUNDRED = Decimal("100")
DOC_NUMBER_MAX = 21
TAX_MODES = ("TaxExcluded", "TaxInclusive", "NotApplicable")
WRITABLE = ("CustomerRef", "Line", "DocNumber", "TxnDate", "DueDate", "PrivateNote", "CustomerMemo", "BillEmail",
            "BillAddr", "ShipAddr", "GlobalTaxCalculation", "SalesTermRef", "CustomField", "TrackingNum")


def _number(value: Any, element: str) -> Decimal | None:
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property Name:{element} has an invalid value {value!r}", element=element) from exc


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def _date(value: Any, element: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property Name:{element} has an invalid date {value!r}", element=element) from exc


def _tax_rate_of(company: QboCompany, code_id: str) -> tuple[str, Decimal]:
    code = company.get("TaxCode", code_id)
    details = (code or {}).get("SalesTaxRateList", {}).get("TaxRateDetail", [])
    if not details:
        return ("", ZERO)
    rate_id = str(details[0]["TaxRateRef"]["value"])
    rate = company.get("TaxRate", rate_id)
    return rate_id, Decimal(str(rate["RateValue"])) if rate else ZERO


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _sales_line(company: QboCompany, raw: dict[str, Any], index: int, tax_mode: str) -> dict[str, Any]:
    detail = _object(raw.get("SalesItemLineDetail"))
    amount = _number(raw.get("Amount"), "Line.Amount")
    if amount is None:
        raise required("Line.Amount")
    item_id = _ref(detail.get("ItemRef")) or "1"  # QuickBooks falls back to the "Services" item
    item = company.get("Item", item_id)
    if item is None:
        raise invalid_reference("Item", item_id, "Line.SalesItemLineDetail.ItemRef")
    if item.get("Active") is False:
        raise inactive_reference("Item", item_id, "Line.SalesItemLineDetail.ItemRef")
    qty = _number(detail.get("Qty"), "Line.SalesItemLineDetail.Qty")
    price = _number(detail.get("UnitPrice"), "Line.SalesItemLineDetail.UnitPrice")
    if qty is not None and price is not None and cents(qty * price) != cents(amount):
        raise QboFault("6070", "Amount calculation incorrect in the request",
                       f"Amount is not equal to Qty * UnitPrice. Supplied value:{amount}", element="Line.Amount",
                       business=True)
    if qty is not None and price is None and qty:
        price = amount / qty
    out_detail: dict[str, Any] = {"ItemRef": {"value": item["Id"], "name": item["Name"]}}
    if price is not None:
        out_detail["UnitPrice"] = price
    if qty is not None:
        out_detail["Qty"] = qty
    if tax_mode != "NotApplicable":
        code_id = _ref(detail.get("TaxCodeRef")) or _ref(item.get("SalesTaxCodeRef"))
        if code_id is None:
            raise business("Make sure all your transactions have a tax code before you save.",
                           "Line.SalesItemLineDetail.TaxCodeRef")
        code = company.get("TaxCode", code_id)
        if code is None:
            raise invalid_reference("TaxCode", code_id, "Line.SalesItemLineDetail.TaxCodeRef")
        out_detail["TaxCodeRef"] = {"value": code["Id"]}
    for key in ("ServiceDate", "ClassRef", "ItemAccountRef"):
        if key in detail:
            out_detail[key] = detail[key]
    line: dict[str, Any] = {"Id": str(index), "LineNum": index}
    if raw.get("Description") is not None:
        line["Description"] = raw["Description"]
    line.update({"Amount": cents(amount), "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": out_detail})
    return line


def _discount(raw: dict[str, Any], subtotal: Decimal) -> tuple[Decimal, dict[str, Any]]:
    detail = _object(raw.get("DiscountLineDetail"))
    if detail.get("PercentBased") is True:
        percent = _number(detail.get("DiscountPercent"), "Line.DiscountLineDetail.DiscountPercent")
        if percent is None:
            raise QboFault("6090", "Discount Line missing required info.",
                           "Discount amount or percent should be provided.", element="Line", business=True)
        return cents(subtotal * percent / HUNDRED), {"PercentBased": True, "DiscountPercent": percent,
                                                      **({"DiscountAccountRef": detail["DiscountAccountRef"]}
                                                         if "DiscountAccountRef" in detail else {})}
    amount = _number(raw.get("Amount"), "Line.Amount")
    if amount is None:
        raise QboFault("6090", "Discount Line missing required info.",
                       "Discount amount or percent should be provided.", element="Line", business=True)
    return cents(amount), {"PercentBased": False, **({"DiscountAccountRef": detail["DiscountAccountRef"]}
                                                     if "DiscountAccountRef" in detail else {})}


def write_invoice(company: QboCompany, data: Any, now: datetime, settings: QboSettings) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", "The body must be an Invoice object")
    existing: dict[str, Any] | None = None
    if data.get("Id") not in (None, ""):
        existing = company.get("Invoice", data["Id"])
        if existing is None:
            raise object_not_found("Invoice", data["Id"])
        if str(data.get("SyncToken")) != existing["SyncToken"]:
            raise stale("Invoice")
        if data.get("sparse") is True:
            data = {**{k: existing[k] for k in WRITABLE if k in existing}, **data}

    customer_id = _ref(data.get("CustomerRef"))
    if customer_id is None:
        raise required("CustomerRef")
    customer = company.get("Customer", customer_id)
    if customer is None:
        raise invalid_reference("Customer", customer_id, "CustomerRef")
    if customer.get("Active") is False:
        raise inactive_reference("Customer", customer_id, "CustomerRef")

    tax_mode = str(data.get("GlobalTaxCalculation") or "TaxExcluded")
    if tax_mode not in TAX_MODES:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property Name:GlobalTaxCalculation has an invalid value {tax_mode!r}",
                       element="GlobalTaxCalculation")

    raw_lines = data.get("Line")
    raw_lines = [line for line in raw_lines if isinstance(line, dict)] if isinstance(raw_lines, list) else []
    sales_raw = [line for line in raw_lines if line.get("DetailType") == "SalesItemLineDetail"]
    if not sales_raw:
        raise business("You must fill out at least one split line.", "Line")
    lines: list[dict[str, Any]] = []
    index = 0
    for raw in raw_lines:
        kind = raw.get("DetailType")
        if kind == "SalesItemLineDetail":
            index += 1
            lines.append(_sales_line(company, raw, index, tax_mode))
        elif kind == "DescriptionOnly":
            index += 1
            lines.append({"Id": str(index), "LineNum": index, "Description": raw.get("Description", ""),
                          "Amount": ZERO, "DetailType": "DescriptionOnly", "DescriptionLineDetail": {}})
        elif kind not in ("DiscountLineDetail", "SubTotalLineDetail"):
            raise QboFault("2010", "Request has invalid or unsupported property",
                           f"Property Name:DetailType has an unsupported value {kind!r}", element="Line.DetailType")
    subtotal = sum((line["Amount"] for line in lines), ZERO)
    discount = ZERO
    discount_line: dict[str, Any] | None = None
    for raw in raw_lines:
        if raw.get("DetailType") == "DiscountLineDetail":
            discount, detail = _discount(raw, subtotal)
            index += 1
            discount_line = {"Id": str(index), "LineNum": index, "Amount": discount,
                             "DetailType": "DiscountLineDetail", "DiscountLineDetail": detail}
            break

    doc_number = data.get("DocNumber")
    if doc_number is not None:
        doc_number = str(doc_number)
        if len(doc_number) > DOC_NUMBER_MAX:
            raise string_length("DocNumber", DOC_NUMBER_MAX, len(doc_number))
        for other in company.tables["Invoice"].values():
            if other.get("DocNumber") == doc_number and (existing is None or other["Id"] != existing["Id"]):
                raise QboFault("6140", "Duplicate Document Number Error",
                               "Duplicate Document Number Error : You must specify a different number. This number "
                               f"has already been used. DocNumber={doc_number} is assigned to TxnType=Invoice with "
                               f"TxnId={other['Id']}", element="DocNumber", business=True)
    txn_date = _date(data["TxnDate"], "TxnDate") if data.get("TxnDate") else now.date()
    due_date = _date(data["DueDate"], "DueDate") if data.get("DueDate") else \
        txn_date + timedelta(days=settings.default_terms_days)

    # Tax per code on the discounted amounts.
    share = (subtotal - discount) / subtotal if subtotal else ZERO
    bases: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        code = line.get("SalesItemLineDetail", {}).get("TaxCodeRef", {}).get("value")
        if code is not None:
            bases[code] += line["Amount"] * share
    tax_lines: list[dict[str, Any]] = []
    total_tax = ZERO
    if tax_mode != "NotApplicable":
        for code_id, base in bases.items():
            rate_id, rate = _tax_rate_of(company, code_id)
            divisor = HUNDRED + rate if tax_mode == "TaxInclusive" else HUNDRED
            amount = cents(base * rate / divisor)
            net = cents(base - amount) if tax_mode == "TaxInclusive" else cents(base)
            total_tax += amount
            tax_lines.append({"Amount": amount, "DetailType": "TaxLineDetail", "TaxLineDetail": {
                "TaxRateRef": {"value": rate_id}, "PercentBased": True, "TaxPercent": rate,
                "NetAmountTaxable": net}})
    total = subtotal - discount + (total_tax if tax_mode == "TaxExcluded" else ZERO)

    if doc_number is None and existing is not None:
        doc_number = existing.get("DocNumber")
    if doc_number is None and settings.auto_doc_number:
        taken = {inv.get("DocNumber") for inv in company.tables["Invoice"].values()}
        while True:
            company.doc_seq += 1
            if str(company.doc_seq) not in taken:
                doc_number = str(company.doc_seq)
                break

    out_lines = list(lines)
    out_lines.append({"Amount": cents(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    if discount_line is not None:
        out_lines.append(discount_line)
    created = datetime.fromisoformat(existing["MetaData"]["CreateTime"]) if existing else now
    record: dict[str, Any] = {
        "Id": existing["Id"] if existing else company.next_id("Invoice"),
        "SyncToken": str(int(existing["SyncToken"]) + 1) if existing else "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": metadata(created, now),
        "CustomField": data.get("CustomField", []),
        "DocNumber": doc_number,
        "TxnDate": txn_date.isoformat(),
        "CurrencyRef": dict(company.currency),
        "LinkedTxn": [],
        "Line": out_lines,
        "TxnTaxDetail": {"TotalTax": cents(total_tax), "TaxLine": tax_lines},
        "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
        "DueDate": due_date.isoformat(),
        "GlobalTaxCalculation": tax_mode,
        "TotalAmt": cents(total),
        "PrintStatus": "NotSet",
        "EmailStatus": "NotSet",
        "Balance": cents(total),
        "Deposit": ZERO,
        "ApplyTaxAfterDiscount": False,
    }
    if record["DocNumber"] is None:
        del record["DocNumber"]
    for key in ("PrivateNote", "CustomerMemo", "BillEmail", "BillAddr", "ShipAddr", "SalesTermRef", "TrackingNum"):
        if data.get(key) is not None:
            record[key] = data[key]
    company.add("Invoice", record)
    return record


def delete_invoice(company: QboCompany, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("Id") in (None, ""):
        raise required("Id")
    existing = company.get("Invoice", data["Id"])
    if existing is None:
        raise object_not_found("Invoice", data["Id"])
    if str(data.get("SyncToken")) != existing["SyncToken"]:
        raise stale("Invoice")
    del company.tables["Invoice"][existing["Id"]]
    return {"Id": existing["Id"], "status": "Deleted", "domain": "QBO"}
