"""Customers: create-or-update by Guid and the filtered list.

https://apidocs.unleashedsoftware.com/Customers: ``POST /Customers/{Guid}`` creates or updates (also
``POST /Customers``); codes are unique. Lengths for code and name are not documented: 50 and 255
are our choice [I].
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Sequence

from .errors import UnleashedError
from .lookups import customer_by_code, index_code, resolve_currency, resolve_tax
from .query import Lazy, Query, modified_since, starts_with
from .state import Record, UnleashedState
from .validation import Problems, check_guid_matches

TEXT_FIELDS: dict[str, int | None] = {
    "CustomerCode": 50,
    "CustomerName": 255,
    "Email": 256,
    "EmailCC": 256,
    "ContactFirstName": 100,
    "ContactLastName": 100,
    "PhoneNumber": 50,
    "MobileNumber": 50,
    "FaxNumber": 50,
    "DDINumber": 50,
    "CustomerType": 50,
    "GSTVATNumber": 50,
    "Notes": 2048,
    "PaymentTerm": 100,
    "SellPriceTier": 100,
    "SellPriceTierReference": 100,
    "SourceId": 500,
    "XeroContactId": 100,
}
BOOL_FIELDS = ("Obsolete", "PrintInvoice", "PrintPackingSlipInsteadOfInvoice", "StopCredit", "Taxable")
ADDRESS_FIELDS = (
    "AddressType", "AddressName", "StreetAddress", "StreetAddress2", "Suburb", "City", "Region",
    "Country", "PostalCode", "IsDefault", "DeliveryInstruction",
)


def new_customer(state: UnleashedState, guid: str) -> Record:
    now = state.now()
    currency = state.base_currency()
    return {
        "Guid": guid, "CustomerCode": None, "CustomerName": None, "Email": None, "EmailCC": None,
        "ContactFirstName": None, "ContactLastName": None, "PhoneNumber": None, "MobileNumber": None,
        "FaxNumber": None, "DDINumber": None, "Addresses": [], "Currency": copy.deepcopy(currency),
        "CurrencyId": currency["Guid"], "CustomerType": None, "DiscountRate": Decimal("0"),
        "GSTVATNumber": None, "Notes": None, "Obsolete": False, "PaymentTerm": "20th Month following",
        "PrintInvoice": False, "PrintPackingSlipInsteadOfInvoice": False, "Salesperson": None,
        "SellPriceTier": None, "SellPriceTierReference": None, "StopCredit": False, "Taxable": True,
        "TaxCode": None, "TaxRate": None, "SourceId": None, "XeroContactId": None,
        "CreatedBy": state.settings_user(), "CreatedOn": now, "LastModifiedBy": state.settings_user(),
        "LastModifiedOn": now,
    }


def _addresses(problems: Problems, value: Any) -> list[Record]:
    if not isinstance(value, list):
        problems.add("Addresses", "Addresses must be a list.")
        return []
    out = []
    for entry in value:
        if isinstance(entry, dict):
            out.append({k: entry.get(k, False if k == "IsDefault" else None) for k in ADDRESS_FIELDS})
    return out


def _apply(state: UnleashedState, record: Record, body: dict[str, Any], *, creating: bool) -> None:
    problems = Problems()
    for field, max_len in TEXT_FIELDS.items():
        required = field in ("CustomerCode", "CustomerName")
        if field in body or (creating and required):
            value = problems.text(body, field, max_len=max_len, required=required)
            if value is not None or not required:
                record[field] = value.strip() if field == "CustomerCode" and value else value
    code = record.get("CustomerCode")
    if code:
        clash = customer_by_code(state, code)
        if clash is not None and clash["Guid"] != record["Guid"]:
            problems.add("CustomerCode", f"Customer code '{code}' is already used by another customer.")
    for field in BOOL_FIELDS:
        if field in body:
            flag = problems.boolean(body, field)
            if flag is not None:
                record[field] = flag
    if "DiscountRate" in body:
        rate = problems.decimal(body, "DiscountRate", minimum=Decimal("0"))
        record["DiscountRate"] = rate if rate is not None else Decimal("0")
    if "Addresses" in body:
        record["Addresses"] = _addresses(problems, body["Addresses"])
    if body.get("Currency") is not None:
        try:
            currency = resolve_currency(state, body["Currency"])
        except UnleashedError as exc:  # collected with the other problems
            problems.add("Currency", exc.description)
        else:
            if currency is not None:
                record["Currency"], record["CurrencyId"] = copy.deepcopy(currency), currency["Guid"]
    if body.get("TaxCode"):
        try:
            tax = resolve_tax(state, str(body["TaxCode"]), "TaxCode")
        except UnleashedError as exc:
            problems.add("TaxCode", exc.description)
        else:
            record["TaxCode"], record["TaxRate"] = tax["TaxCode"], tax["TaxRate"]
    if "Salesperson" in body:
        record["Salesperson"] = copy.deepcopy(body["Salesperson"])
    problems.raise_if_any("The customer is not valid")


def upsert_customer(state: UnleashedState, guid: str, body: dict[str, Any]) -> tuple[Record, bool]:
    guid = guid.lower()
    check_guid_matches(guid, body)
    existing = state.customers.get(guid)
    creating = existing is None
    record = new_customer(state, guid) if existing is None else copy.deepcopy(existing)
    _apply(state, record, body, creating=creating)
    if not creating:
        record["LastModifiedOn"] = state.now()
        record["LastModifiedBy"] = state.settings_user()
    state.customers[guid] = record
    index_code(state.customer_codes, existing.get("CustomerCode") if existing else None, record.get("CustomerCode"), guid)
    state.emit("customer.created" if creating else "customer.updated", {"customerGuid": guid})
    return record, creating


def list_customers(state: UnleashedState, q: Query) -> Sequence[Record]:
    """``GET /Customers`` with the filters of https://apidocs.unleashedsoftware.com/Customers
    (default order CustomerCode)."""
    include_obsolete = q.flag("includeObsolete")
    since = q.date("modifiedSince")
    code, name, email = q.get("customerCode"), q.get("customerName"), q.get("contactEmail")
    contains, currency, ctype = q.get("customer"), q.get("currency"), q.get("customerType")
    rows = []
    for c in state.customers.values():
        if c["Obsolete"] and not include_obsolete:
            continue
        if not (modified_since(c["LastModifiedOn"], since) and starts_with(c["CustomerCode"], code)):
            continue
        if not (starts_with(c["CustomerName"], name) and starts_with(c["Email"], email)):
            continue
        # https://apidocs.unleashedsoftware.com/Customers: ``customer`` is "contains" in code or
        # name and case-sensitive.
        if contains and contains not in c["CustomerCode"] and contains not in c["CustomerName"]:
            continue
        if currency and c["Currency"]["CurrencyCode"] != currency:
            continue
        if ctype and (c.get("CustomerType") or "").upper() != ctype.upper():
            continue
        rows.append(c)
    order_by = (q.get("orderBy") or "CustomerCode").lower()
    if order_by in ("lastmodifiedon", "createdon"):
        field = "LastModifiedOn" if order_by == "lastmodifiedon" else "CreatedOn"
        rows.sort(key=lambda c: (c[field], c["CustomerCode"].upper()))
    else:
        rows.sort(key=lambda c: c["CustomerCode"].upper())
    return Lazy(rows, copy.deepcopy)
