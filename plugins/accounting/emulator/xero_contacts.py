"""Xero contacts: validation, create, update, and the lookups invoices use.

Facts followed (https://developer.xero.com/documentation/api/accounting/contacts, xero_accounting.yaml
``Contact`` schema): ``Name`` required on create, ≤255, unique among *active* contacts (the
spec's PUT 400 example gives the exact message); ``ContactNumber`` ≤50 and meant as the
external system id; ``ContactStatus`` ``ACTIVE``/``ARCHIVED``/``GDPRREQUEST``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .xero_batch import ElementInvalid, Journal
from .xero_state import XeroTenant

CONTACT_STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT_LIMITS = {"Name": 255, "FirstName": 255, "LastName": 255, "EmailAddress": 255, "ContactNumber": 50,
                "AccountNumber": 50, "CompanyNumber": 50, "TaxNumber": 50}
_LIST_FIELDS = ("Addresses", "Phones", "ContactPersons")


@dataclass
class ContactWrite:
    tenant: XeroTenant
    now: datetime
    new_id: Callable[[], str]


def _same(a: str | None, b: str | None) -> bool:
    # Names compare case-insensitively: Xero treats "acme" and "ACME" as the same contact name
    # (choice where docs are silent; the stricter reading for a client that dedupes by name).
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def find_by_name(tenant: XeroTenant, name: str, *, active_only: bool = True) -> dict[str, Any] | None:
    for contact in tenant.contacts.values():
        if _same(contact["Name"], name) and (not active_only or contact["ContactStatus"] == "ACTIVE"):
            return contact
    return None


def find_by_number(tenant: XeroTenant, number: str) -> dict[str, Any] | None:
    for contact in tenant.contacts.values():
        if contact.get("ContactNumber") and contact["ContactNumber"] == number:
            return contact
    return None


def _text_errors(data: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for key, limit in _TEXT_LIMITS.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(f"{key} must be a string.")
        elif len(value) > limit:
            errors.append(f"{key} must not be more than {limit} characters long.")
    email = data.get("EmailAddress")
    if isinstance(email, str) and email and not _EMAIL.match(email):
        errors.append("Email address must be valid.")
    status = data.get("ContactStatus")
    if status is not None and status not in CONTACT_STATUSES:
        errors.append(f"ContactStatus '{status}' is not valid.")
    for key in _LIST_FIELDS:
        if key in data and not (isinstance(data[key], list) and all(isinstance(x, dict) for x in data[key])):
            errors.append(f"{key} must be a list of objects.")
    return errors


def _name_taken_error(name: str) -> str:
    # Message verbatim from the spec's PUT /Contacts 400 example.
    return (f"The contact name {name} is already assigned to another contact. "
            "The contact name must be unique across all active contacts.")


def write_contact(ctx: ContactWrite, data: Any, existing: dict[str, Any] | None, journal: Journal) -> str:
    """Create (``existing`` None) or update a contact; return its ContactID."""
    if not isinstance(data, dict):
        raise ElementInvalid(["A contact must be an object."])
    errors = _text_errors(data)
    name = data.get("Name", existing["Name"] if existing else None)
    status = data.get("ContactStatus", existing["ContactStatus"] if existing else "ACTIVE")
    if not isinstance(name, str) or not name.strip():
        errors.append("The contact name must be specified.")
    elif status == "ACTIVE":
        clash = find_by_name(ctx.tenant, name)
        if clash is not None and (existing is None or clash["ContactID"] != existing["ContactID"]):
            errors.append(_name_taken_error(name))
    if errors:
        raise ElementInvalid(errors)
    record: dict[str, Any] = dict(existing) if existing else {
        "ContactID": ctx.new_id(), "ContactStatus": "ACTIVE", "IsCustomer": False, "IsSupplier": False,
    }
    for key in ("Name", "FirstName", "LastName", "EmailAddress", "ContactNumber", "AccountNumber",
                "CompanyNumber", "TaxNumber", "ContactStatus", "DefaultCurrency", "BankAccountDetails",
                *_LIST_FIELDS):
        if key in data:
            record[key] = data[key]
    record["Name"] = str(record["Name"]).strip()
    record["UpdatedDateUTC"] = ctx.now
    journal.put(ctx.tenant.contacts, record["ContactID"], record)
    return str(record["ContactID"])


def resolve_upsert_target(tenant: XeroTenant, data: Any) -> dict[str, Any] | None:
    """POST /Contacts: which existing contact an element updates (by ContactID, then ContactNumber).

    An element naming an unknown ContactID is an error; one that matches neither creates a new
    contact (and then the unique-name rule applies, as for PUT)."""
    if not isinstance(data, dict):
        return None
    contact_id = data.get("ContactID")
    if contact_id:
        found = tenant.contacts.get(str(contact_id).lower())
        if found is None:
            raise ElementInvalid([f"The Contact with ContactID '{contact_id}' could not be found."])
        return found
    number = data.get("ContactNumber")
    if isinstance(number, str) and number:
        return find_by_number(tenant, number)
    return None
