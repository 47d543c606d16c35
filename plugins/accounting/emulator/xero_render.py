"""Internal Xero records → the JSON the API returns (field order and empty lists as in the spec
examples; money as numbers, dates as ``/Date(...)/`` with ISO string twins)."""

from __future__ import annotations

from typing import Any

from .xero_dates import date_string, ms_date, utc_string
from .xero_state import XeroTenant


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_") and k != "SourceApp"}


def render_contact(contact: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ContactID": contact["ContactID"]}
    for key in ("ContactNumber", "AccountNumber"):
        if contact.get(key):
            out[key] = contact[key]
    out["ContactStatus"] = contact["ContactStatus"]
    out["Name"] = contact["Name"]
    for key in ("FirstName", "LastName", "CompanyNumber", "EmailAddress", "TaxNumber", "DefaultCurrency"):
        if contact.get(key):
            out[key] = contact[key]
    out["BankAccountDetails"] = contact.get("BankAccountDetails", "")
    out["Addresses"] = list(contact.get("Addresses", []))
    out["Phones"] = list(contact.get("Phones", []))
    out["UpdatedDateUTC"] = ms_date(contact["UpdatedDateUTC"])
    out["ContactGroups"] = []
    out["IsSupplier"] = bool(contact.get("IsSupplier"))
    out["IsCustomer"] = bool(contact.get("IsCustomer"))
    out["SalesTrackingCategories"] = []
    out["PurchasesTrackingCategories"] = []
    out["ContactPersons"] = list(contact.get("ContactPersons", []))
    out["HasAttachments"] = False
    out["HasValidationErrors"] = False
    return out


def render_contact_summary(contact: dict[str, Any] | None, contact_id: str) -> dict[str, Any]:
    """The contact as embedded in an invoice (spec example: id, name, empty lists)."""
    if contact is None:
        return {"ContactID": contact_id, "Addresses": [], "Phones": [], "ContactGroups": [],
                "ContactPersons": [], "HasValidationErrors": False}
    out: dict[str, Any] = {"ContactID": contact["ContactID"]}
    if contact.get("ContactNumber"):
        out["ContactNumber"] = contact["ContactNumber"]
    out["ContactStatus"] = contact["ContactStatus"]
    out["Name"] = contact["Name"]
    for key in ("FirstName", "LastName", "EmailAddress"):
        if contact.get(key):
            out[key] = contact[key]
    out.update({"Addresses": [], "Phones": [], "ContactGroups": [], "ContactPersons": [],
                "HasValidationErrors": False})
    return out


def render_line(line: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"LineItemID": line["LineItemID"]}
    if line.get("Description") is not None:
        out["Description"] = line["Description"]
    out["Quantity"] = line["Quantity"]
    out["UnitAmount"] = line["UnitAmount"]
    if line.get("ItemCode"):
        out["ItemCode"] = line["ItemCode"]
    if line.get("AccountCode"):
        out["AccountCode"] = line["AccountCode"]
    if line.get("AccountID"):
        out["AccountID"] = line["AccountID"]
    out["TaxType"] = line["TaxType"]
    out["TaxAmount"] = line["TaxAmount"]
    out["LineAmount"] = line["LineAmount"]
    if line.get("DiscountRate") is not None:
        out["DiscountRate"] = line["DiscountRate"]
    if line.get("DiscountAmount") is not None:
        out["DiscountAmount"] = line["DiscountAmount"]
    out["Tracking"] = list(line.get("Tracking", []))
    return out


def render_invoice(
    invoice: dict[str, Any], tenant: XeroTenant, *, with_lines: bool = True, summary_only: bool = False
) -> dict[str, Any]:
    contact = tenant.contacts.get(invoice["ContactID"])
    out: dict[str, Any] = {"Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"]}
    out["InvoiceNumber"] = invoice.get("InvoiceNumber", "")
    if invoice.get("Reference") is not None:
        out["Reference"] = invoice["Reference"]
    if not summary_only:
        out.update({"Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": []})
    out["AmountDue"] = invoice["AmountDue"]
    out["AmountPaid"] = invoice["AmountPaid"]
    out["AmountCredited"] = invoice["AmountCredited"]
    out["SentToContact"] = bool(invoice.get("SentToContact"))
    out["CurrencyRate"] = invoice["CurrencyRate"]
    out["IsDiscounted"] = bool(invoice["TotalDiscount"])
    out["HasAttachments"] = False
    out["HasErrors"] = False
    out["Contact"] = render_contact_summary(contact, invoice["ContactID"])
    out["DateString"] = date_string(invoice["Date"])
    out["Date"] = ms_date(invoice["Date"])
    if invoice.get("DueDate") is not None:
        out["DueDateString"] = date_string(invoice["DueDate"])
        out["DueDate"] = ms_date(invoice["DueDate"])
    if invoice.get("ExpectedPaymentDate") is not None:
        out["ExpectedPaymentDate"] = ms_date(invoice["ExpectedPaymentDate"])
    out["Status"] = invoice["Status"]
    out["LineAmountTypes"] = invoice["LineAmountTypes"]
    out["LineItems"] = [render_line(line) for line in invoice["LineItems"]] if with_lines and not summary_only else []
    out["SubTotal"] = invoice["SubTotal"]
    out["TotalTax"] = invoice["TotalTax"]
    out["Total"] = invoice["Total"]
    if invoice["TotalDiscount"]:
        out["TotalDiscount"] = invoice["TotalDiscount"]
    out["UpdatedDateUTC"] = ms_date(invoice["UpdatedDateUTC"])
    out["UpdatedDateUTCString"] = utc_string(invoice["UpdatedDateUTC"])
    out["CurrencyCode"] = invoice["CurrencyCode"]
    for key in ("Url", "BrandingThemeID"):
        if invoice.get(key):
            out[key] = invoice[key]
    return out


def render_account(account: dict[str, Any]) -> dict[str, Any]:
    out = _public(account)
    out["UpdatedDateUTC"] = ms_date(account["UpdatedDateUTC"])
    return out


def render_tax_rate(rate: dict[str, Any]) -> dict[str, Any]:
    return _public(rate)
