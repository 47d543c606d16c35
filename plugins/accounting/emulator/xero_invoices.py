"""Xero invoices: validation, numbering, totals, create and update.

Rules followed (https://developer.xero.com/documentation/api/accounting/invoices; Invoice and
LineItem schemas in xero_accounting.yaml):

- ``Type`` required (``ACCREC`` sales invoice, ``ACCPAY`` bill); a ``Contact`` by ``ContactID``
  (must exist and not be archived), by ``ContactNumber``, or by ``Name`` (an unknown name creates
  a new contact, which is why clients should send only the ContactID);
- ``InvoiceNumber`` for ACCREC: unique, ≤255, generated (``INV-0001``...) when omitted;
- ``Status`` ``DRAFT`` by default; on create only DRAFT/SUBMITTED/AUTHORISED; DRAFT/SUBMITTED
  can move to anything, AUTHORISED only to VOIDED; VOIDED/DELETED/PAID cannot change;
- line ``AccountCode``/``TaxType`` must exist (TaxType defaults to the account's); at least one
  line; ``DueDate`` needed once SUBMITTED/AUTHORISED ([secondary], option
  ``require_due_date_when_approved``);
- totals computed by ``xero_totals`` honouring ``LineAmountTypes`` and discounts.

Validation messages are worded after the ones Xero returns where known (e.g. "Invoice # must be
unique."); others are the emulator's own plain wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from .money import to_decimal
from .xero_batch import ElementInvalid, Journal
from .xero_contacts import find_by_name, find_by_number
from .xero_dates import parse_date
from .xero_state import XeroTenant
from .xero_totals import LINE_AMOUNT_TYPES, ZERO, invoice_totals, price_line

INVOICE_TYPES = ("ACCREC", "ACCPAY")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
ALL_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
_NEXT_STATUSES = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
}


@dataclass
class InvoiceWrite:
    tenant: XeroTenant
    now: datetime
    new_id: Callable[[], str]
    source_app: str
    unit_dp: int
    currencies: tuple[str, ...]
    require_due_date_when_approved: bool


def _number_taken(tenant: XeroTenant, number: str, except_id: str | None) -> bool:
    # ACCREC numbers are unique per organisation; compared case-insensitively and ignoring
    # DELETED invoices (choice where docs are silent).
    wanted = number.strip().casefold()
    return any(
        inv["Type"] == "ACCREC" and inv["InvoiceID"] != except_id and inv["Status"] != "DELETED"
        and str(inv.get("InvoiceNumber", "")).strip().casefold() == wanted
        for inv in tenant.invoices.values()
    )


def next_invoice_number(tenant: XeroTenant, journal: Journal) -> str:
    seq = tenant.invoice_seq
    while True:
        seq += 1
        candidate = f"INV-{seq:04d}"
        if not _number_taken(tenant, candidate, None):
            journal.set_attr(tenant, "invoice_seq", seq)
            return candidate


def _resolve_contact(ctx: InvoiceWrite, raw: Any, errors: list[str], journal: Journal) -> str | None:
    if not isinstance(raw, dict) or not raw:
        errors.append("A Contact must be specified for this type of transaction")
        return None
    contact: dict[str, Any] | None = None
    if raw.get("ContactID"):
        contact = ctx.tenant.contacts.get(str(raw["ContactID"]).lower())
        if contact is None:
            errors.append(f"The Contact with ContactID '{raw['ContactID']}' could not be found.")
            return None
    elif isinstance(raw.get("ContactNumber"), str) and raw["ContactNumber"]:
        contact = find_by_number(ctx.tenant, raw["ContactNumber"])
    if contact is None and isinstance(raw.get("Name"), str) and raw["Name"].strip():
        contact = find_by_name(ctx.tenant, raw["Name"]) or find_by_name(ctx.tenant, raw["Name"], active_only=False)
        if contact is None:
            # A new name silently creates a contact (https://developer.xero.com/documentation/api/accounting/contacts).
            contact = {
                "ContactID": ctx.new_id(), "Name": raw["Name"].strip(), "ContactStatus": "ACTIVE",
                "IsCustomer": False, "IsSupplier": False, "UpdatedDateUTC": ctx.now,
            }
            for key in ("ContactNumber", "EmailAddress", "FirstName", "LastName"):
                if isinstance(raw.get(key), str) and raw[key]:
                    contact[key] = raw[key]
            journal.put(ctx.tenant.contacts, contact["ContactID"], contact)
    if contact is None:
        errors.append("A Contact must be specified for this type of transaction")
        return None
    if contact["ContactStatus"] == "ARCHIVED":
        errors.append("The contact with the specified contact details has been archived. "
                      "The archived contact cannot have transactions created against it.")
        return None
    return str(contact["ContactID"])


def _money(value: Any, field: str, errors: list[str]) -> Decimal | None:
    try:
        return to_decimal(value)
    except ValueError:
        errors.append(f"{field} must be a number.")
        return None


def _build_lines(
    ctx: InvoiceWrite, raw_lines: Any, old_lines: list[dict[str, Any]], line_amount_types: str, status: str,
    errors: list[str],
) -> list[dict[str, Any]]:
    if not isinstance(raw_lines, list) or not raw_lines:
        errors.append("At least one line item must be specified.")
        return []
    previous = {line["LineItemID"]: line for line in old_lines}
    lines: list[dict[str, Any]] = []
    for position, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict):
            errors.append(f"Line item {position} must be an object.")
            continue
        line_id = str(raw.get("LineItemID") or "").lower()
        line: dict[str, Any] = {"LineItemID": line_id if line_id in previous else ctx.new_id()}
        description = raw.get("Description")
        if (not isinstance(description, str) or not description.strip()) and not raw.get("ItemCode"):
            errors.append("The description field is mandatory for each line item.")
        line["Description"] = description
        if raw.get("ItemCode"):
            line["ItemCode"] = str(raw["ItemCode"])
        for key in ("Quantity", "UnitAmount", "LineAmount", "DiscountRate", "DiscountAmount", "TaxAmount"):
            line[key] = _money(raw.get(key), key, errors)
        line["_TaxAmountGiven"] = raw.get("TaxAmount") is not None
        if line["DiscountRate"] is not None and not (ZERO <= line["DiscountRate"] <= Decimal("100")):
            errors.append("DiscountRate must be between 0 and 100.")
        account = None
        code = raw.get("AccountCode")
        if code is not None and str(code).strip():
            account = ctx.tenant.account(str(code))
            if account is None or account["Status"] != "ACTIVE":
                errors.append(f"Account code '{code}' is not a valid code for this document.")
            else:
                line["AccountCode"] = account["Code"]
                line["AccountID"] = account["AccountID"]
        elif status == "AUTHORISED":
            errors.append("Account code must be specified for each line item of an approved invoice.")
        tax_type = raw.get("TaxType")
        rate = ZERO
        if tax_type is not None and str(tax_type).strip():
            tax = ctx.tenant.tax_rate(str(tax_type))
            if tax is None or tax["Status"] != "ACTIVE":
                errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used "
                              "for this type of transaction.")
            else:
                line["TaxType"] = tax["TaxType"]
                rate = Decimal(tax["EffectiveRate"])
        else:
            default = ctx.tenant.tax_rate(account["TaxType"]) if account else None
            line["TaxType"] = default["TaxType"] if default else "NONE"
            rate = Decimal(default["EffectiveRate"]) if default else ZERO
        tracking = raw.get("Tracking")
        line["Tracking"] = [t for t in tracking if isinstance(t, dict)][:2] if isinstance(tracking, list) else []
        if not errors:
            price_line(line, rate, line_amount_types, ctx.unit_dp)
        lines.append(line)
    return lines


def write_invoice(ctx: InvoiceWrite, data: Any, existing: dict[str, Any] | None, journal: Journal) -> str:
    """Create (``existing`` None) or update one invoice; return its InvoiceID."""
    if not isinstance(data, dict):
        raise ElementInvalid(["An invoice must be an object."])
    errors: list[str] = []
    old = existing or {}

    inv_type = data.get("Type", old.get("Type"))
    if not inv_type:
        errors.append("The Type field is mandatory.")
    elif inv_type not in INVOICE_TYPES:
        errors.append(f"Invoice Type '{inv_type}' is not valid; use ACCREC or ACCPAY.")
    elif existing and inv_type != existing["Type"]:
        errors.append("The Type of an existing invoice cannot be changed.")

    status = str(data.get("Status", old.get("Status", "DRAFT"))).upper()
    if existing is None and status not in CREATE_STATUSES:
        errors.append("Invoice not of valid status for creation")
    elif existing is not None and status != existing["Status"]:
        if status not in _NEXT_STATUSES.get(existing["Status"], set()):
            errors.append("Invoice not of valid status for modification")
    elif existing is not None and existing["Status"] in {"VOIDED", "DELETED", "PAID"}:
        errors.append("Invoice not of valid status for modification")
    if errors:
        raise ElementInvalid(errors)

    if existing is not None and status in {"VOIDED", "DELETED"} and set(data) <= {"InvoiceID", "Status", "InvoiceNumber", "Type"}:
        record: dict[str, Any] = dict(existing, Status=status, AmountDue=ZERO, UpdatedDateUTC=ctx.now)
        journal.put(ctx.tenant.invoices, record["InvoiceID"], record)
        return str(record["InvoiceID"])

    line_amount_types = data.get("LineAmountTypes", old.get("LineAmountTypes", "Exclusive"))
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not valid; use Exclusive, Inclusive or NoTax.")
        line_amount_types = "Exclusive"

    contact_id = old.get("ContactID")
    if "Contact" in data or existing is None:
        contact_id = _resolve_contact(ctx, data.get("Contact"), errors, journal)

    dates: dict[str, Any] = {}
    for key in ("Date", "DueDate", "ExpectedPaymentDate"):
        if key in data and data[key] not in (None, ""):
            try:
                dates[key] = parse_date(data[key])
            except ValueError:
                errors.append(f"{key} '{data[key]}' is not a valid date.")
        else:
            dates[key] = old.get(key)
    if dates["Date"] is None:
        # "defaults to today" (https://developer.xero.com/documentation/api/accounting/invoices)
        dates["Date"] = ctx.now.date()
    if ctx.require_due_date_when_approved and status in {"SUBMITTED", "AUTHORISED"} and dates["DueDate"] is None:
        errors.append("Due Date is required for submitted or approved invoices.")

    currency = str(data.get("CurrencyCode", old.get("CurrencyCode", ctx.currencies[0]))).upper()
    if currency not in ctx.currencies:
        errors.append(f"Organisation is not subscribed to currency {currency}")

    number = data.get("InvoiceNumber", old.get("InvoiceNumber"))
    if number is not None and not isinstance(number, str):
        number = str(number)
    if isinstance(number, str) and len(number) > 255:
        errors.append("InvoiceNumber must not be more than 255 characters long.")
    elif inv_type == "ACCREC" and number and _number_taken(ctx.tenant, number, old.get("InvoiceID")):
        errors.append("Invoice # must be unique.")

    if "LineItems" in data or existing is None:
        lines = _build_lines(ctx, data.get("LineItems"), old.get("LineItems", []), line_amount_types, status, errors)
    else:
        lines = [dict(line) for line in old["LineItems"]]
        for line in lines:
            rate = ctx.tenant.tax_rate(line["TaxType"])
            price_line(line, Decimal(rate["EffectiveRate"]) if rate else ZERO, line_amount_types, ctx.unit_dp)

    reference = data.get("Reference", old.get("Reference"))
    if errors:
        raise ElementInvalid(errors)

    if inv_type == "ACCREC" and not number:
        number = next_invoice_number(ctx.tenant, journal)
    totals = invoice_totals(lines, line_amount_types)
    record = {
        "InvoiceID": old.get("InvoiceID") or ctx.new_id(),
        "Type": inv_type,
        "InvoiceNumber": number or "",
        "Reference": reference,
        "ContactID": contact_id,
        "Date": dates["Date"],
        "DueDate": dates["DueDate"],
        "ExpectedPaymentDate": dates["ExpectedPaymentDate"],
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "LineItems": lines,
        "SubTotal": totals.sub_total,
        "TotalTax": totals.total_tax,
        "Total": totals.total,
        "TotalDiscount": totals.total_discount,
        "AmountPaid": ZERO,
        "AmountCredited": ZERO,
        "AmountDue": ZERO if status in {"VOIDED", "DELETED"} else totals.total,
        "CurrencyCode": currency,
        "CurrencyRate": Decimal("1"),
        "SentToContact": bool(data.get("SentToContact", old.get("SentToContact", False))),
        "Url": data.get("Url", old.get("Url")),
        "BrandingThemeID": data.get("BrandingThemeID", old.get("BrandingThemeID")),
        "UpdatedDateUTC": ctx.now,
        "SourceApp": old.get("SourceApp", ctx.source_app),
        "_CreatedAt": old.get("_CreatedAt", ctx.now),
    }
    journal.put(ctx.tenant.invoices, record["InvoiceID"], record)
    contact = ctx.tenant.contacts.get(str(contact_id))
    flag = "IsCustomer" if inv_type == "ACCREC" else "IsSupplier"
    if contact is not None and not contact.get(flag):
        journal.put(ctx.tenant.contacts, contact["ContactID"], dict(contact, **{flag: True}))
    return str(record["InvoiceID"])


def find_invoice(tenant: XeroTenant, key: str) -> dict[str, Any] | None:
    """By InvoiceID, or by InvoiceNumber (Xero's single-invoice path accepts either)."""
    found = tenant.invoices.get(key.lower())
    if found is not None:
        return found
    wanted = key.strip().casefold()
    for invoice in tenant.invoices.values():
        if str(invoice.get("InvoiceNumber", "")).casefold() == wanted and invoice["Status"] != "DELETED":
            return invoice
    return None


def resolve_upsert_target(tenant: XeroTenant, data: Any) -> dict[str, Any] | None:
    """POST /Invoices: an element with an InvoiceID (or a known ACCREC InvoiceNumber) updates."""
    if not isinstance(data, dict):
        return None
    invoice_id = data.get("InvoiceID")
    if invoice_id:
        found = tenant.invoices.get(str(invoice_id).lower())
        if found is None:
            raise ElementInvalid([f"Invoice with InvoiceID '{invoice_id}' could not be found."])
        return found
    number = data.get("InvoiceNumber")
    if isinstance(number, str) and number:
        for invoice in tenant.invoices.values():
            if invoice["Type"] == "ACCREC" and invoice["Status"] != "DELETED" and invoice.get("InvoiceNumber", "").casefold() == number.casefold():
                return invoice
    return None
