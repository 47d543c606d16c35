"""QuickBooks customers: create, update (full or sparse, guarded by SyncToken), deactivate.

``DisplayName`` is unique across the company, inactive customers included (6240 Duplicate Name
Exists); when omitted it is built from the name parts or CompanyName (one of them is required).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .qbo_faults import QboFault, object_not_found, stale, string_length
from .qbo_state import QboCompany, metadata

WRITABLE = ("DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
            "PrimaryEmailAddr", "PrimaryPhone", "Mobile", "BillAddr", "ShipAddr", "Notes", "Active", "Taxable",
            "PrintOnCheckName", "DefaultTaxCodeRef")


def _display_name(data: dict[str, Any]) -> str:
    if isinstance(data.get("DisplayName"), str) and data["DisplayName"].strip():
        return data["DisplayName"].strip()
    parts = [str(data[k]).strip() for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
             if isinstance(data.get(k), str) and data[k].strip()]
    if parts:
        return " ".join(parts)
    company = data.get("CompanyName")
    return company.strip() if isinstance(company, str) else ""


def write_customer(company: QboCompany, data: Any, now: datetime) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise QboFault("2010", "Request has invalid or unsupported property", "The body must be a Customer object")
    existing: dict[str, Any] | None = None
    if data.get("Id") not in (None, ""):
        existing = company.get("Customer", data["Id"])
        if existing is None:
            raise object_not_found("Customer", data["Id"])
        if str(data.get("SyncToken")) != existing["SyncToken"]:
            raise stale("Customer")
        if data.get("sparse") is True:
            data = {**{k: existing[k] for k in WRITABLE if k in existing}, **data}
    name = _display_name(data)
    if not name:
        raise QboFault("6080", "No Name Provided",
                       "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - one of these must be "
                       "non-empty", element="DisplayName", business=True)
    if len(name) > 500:
        raise string_length("DisplayName", 500, len(name))
    for other in company.tables["Customer"].values():
        if other["DisplayName"].casefold() == name.casefold() and (existing is None or other["Id"] != existing["Id"]):
            raise QboFault("6240", "Duplicate Name Exists Error",
                           "The name supplied already exists. : Another customer, vendor or employee is already "
                           f"using this name ({name}). Please use a different name.", element="DisplayName",
                           business=True)
    record: dict[str, Any] = {
        "Id": existing["Id"] if existing else company.next_id("Customer"),
        "SyncToken": str(int(existing["SyncToken"]) + 1) if existing else "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": metadata(datetime.fromisoformat(existing["MetaData"]["CreateTime"]) if existing else now, now),
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": existing["Balance"] if existing else 0,
        "BalanceWithJobs": existing["BalanceWithJobs"] if existing else 0,
        "CurrencyRef": dict(company.currency),
        "PreferredDeliveryMethod": "Print",
        "Active": True,
    }
    for key in WRITABLE:
        if key in data:
            record[key] = data[key]
    record["DisplayName"] = name
    record["FullyQualifiedName"] = name
    record.setdefault("PrintOnCheckName", name)
    record["Active"] = record.get("Active") is not False
    company.add("Customer", record)
    return record
