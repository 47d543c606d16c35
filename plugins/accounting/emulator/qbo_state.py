"""A QuickBooks Online company (realm) as the emulator holds it.

Entities are kept in wire form (QuickBooks field names) with Decimal money, keyed by ``Id``.
Ids are strings of digits, counted per entity type as QuickBooks does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

ENTITIES = ("Invoice", "Customer", "Item", "Account", "TaxCode", "TaxRate", "CompanyInfo")


def qbo_time(moment: datetime) -> str:
    """QuickBooks timestamps: ISO 8601 with milliseconds and an offset (``...:31.892-07:00``)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


def metadata(created: datetime, updated: datetime | None = None) -> dict[str, str]:
    return {"CreateTime": qbo_time(created), "LastUpdatedTime": qbo_time(updated or created)}


@dataclass
class QboCompany:
    realm_id: str
    info: dict[str, Any]
    currency: dict[str, str]
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    counters: dict[str, int] = field(default_factory=dict)
    doc_seq: int = 1000

    def next_id(self, entity: str) -> str:
        self.counters[entity] = self.counters.get(entity, 0) + 1
        return str(self.counters[entity])

    def add(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        self.tables[entity][str(record["Id"])] = record
        numeric = int(record["Id"]) if str(record["Id"]).isdigit() else 0
        self.counters[entity] = max(self.counters.get(entity, 0), numeric)
        return record

    def get(self, entity: str, entity_id: Any) -> dict[str, Any] | None:
        return self.tables[entity].get(str(entity_id))


def _catalogue(now: datetime) -> dict[str, list[dict[str, Any]]]:
    meta = metadata(now)
    common = {"SyncToken": "0", "domain": "QBO", "sparse": False, "MetaData": meta}
    return {
        "TaxRate": [
            {"Id": "1", "Name": "GST (sales)", "Description": "GST on sales", "RateValue": Decimal("10"),
             "Active": True, "AgencyRef": {"value": "1"}, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly",
             **common},
            {"Id": "2", "Name": "GST-free (sales)", "Description": "GST-free sales", "RateValue": Decimal("0"),
             "Active": True, "AgencyRef": {"value": "1"}, "SpecialTaxType": "ZERO_RATE",
             "DisplayType": "ReadOnly", **common},
        ],
        "TaxCode": [
            {"Id": "10", "Name": "GST", "Description": "GST", "Active": True, "Taxable": True, "TaxGroup": False,
             "Hidden": False, "SalesTaxRateList": {"TaxRateDetail": [
                 {"TaxRateRef": {"value": "1", "name": "GST (sales)"}, "TaxTypeApplicable": "TaxOnAmount",
                  "TaxOrder": 0}]}, "PurchaseTaxRateList": {"TaxRateDetail": []}, **common},
            {"Id": "11", "Name": "FRE", "Description": "GST free", "Active": True, "Taxable": True,
             "TaxGroup": False, "Hidden": False, "SalesTaxRateList": {"TaxRateDetail": [
                 {"TaxRateRef": {"value": "2", "name": "GST-free (sales)"}, "TaxTypeApplicable": "TaxOnAmount",
                  "TaxOrder": 0}]}, "PurchaseTaxRateList": {"TaxRateDetail": []}, **common},
        ],
        "Account": [
            {"Id": "1", "Name": "Sales", "AccountType": "Income", "AccountSubType": "SalesOfProductIncome",
             "Classification": "Revenue", "Active": True, "SubAccount": False, "FullyQualifiedName": "Sales",
             "CurrentBalance": Decimal("0"), **common},
            {"Id": "2", "Name": "Services", "AccountType": "Income", "AccountSubType": "ServiceFeeIncome",
             "Classification": "Revenue", "Active": True, "SubAccount": False, "FullyQualifiedName": "Services",
             "CurrentBalance": Decimal("0"), **common},
            {"Id": "3", "Name": "Discounts given", "AccountType": "Income",
             "AccountSubType": "DiscountsRefundsGiven", "Classification": "Revenue", "Active": True,
             "SubAccount": False, "FullyQualifiedName": "Discounts given", "CurrentBalance": Decimal("0"),
             **common},
        ],
        "Item": [
            {"Id": "1", "Name": "Services", "FullyQualifiedName": "Services", "Type": "Service", "Active": True,
             "Taxable": True, "UnitPrice": Decimal("0"), "IncomeAccountRef": {"value": "2", "name": "Services"},
             "SalesTaxCodeRef": {"value": "10", "name": "GST"}, **common},
            {"Id": "2", "Name": "Retail Sale", "FullyQualifiedName": "Retail Sale", "Type": "NonInventory",
             "Active": True, "Taxable": True, "UnitPrice": Decimal("0"),
             "IncomeAccountRef": {"value": "1", "name": "Sales"}, "SalesTaxCodeRef": {"value": "10", "name": "GST"},
             **common},
            {"Id": "3", "Name": "Shipping", "FullyQualifiedName": "Shipping", "Type": "Service", "Active": True,
             "Taxable": True, "UnitPrice": Decimal("10"), "IncomeAccountRef": {"value": "1", "name": "Sales"},
             "SalesTaxCodeRef": {"value": "10", "name": "GST"}, **common},
        ],
    }


def new_company(realm_id: str, name: str, country: str, currency: str, currency_name: str, now: datetime,
                overrides: dict[str, list[dict[str, Any]] | None]) -> QboCompany:
    info = {
        "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": False, "MetaData": metadata(now),
        "CompanyName": name, "LegalName": name, "Country": country, "SupportedLanguages": "en",
        "FiscalYearStartMonth": "July", "CompanyStartDate": now.date().isoformat(),
        "CompanyAddr": {"Id": "1", "Line1": "1 Demo Street", "City": "Sydney", "Country": country,
                        "PostalCode": "2000"},
        "Email": {"Address": "accounts@demo-retail.invalid"}, "NameValue": [],
    }
    company = QboCompany(realm_id, info, {"value": currency, "name": currency_name})
    company.add("CompanyInfo", info)
    catalogue = _catalogue(now)
    for entity, rows in catalogue.items():
        extra = overrides.get(entity)
        merged = {row["Id"]: row for row in rows}
        for row in extra or []:
            merged[str(row["Id"])] = {**merged.get(str(row["Id"]), {"SyncToken": "0", "domain": "QBO",
                                                                      "sparse": False, "MetaData": metadata(now),
                                                                      "Active": True}), **row,
                                      "Id": str(row["Id"])}
        for row in merged.values():
            company.add(entity, row)
    return company
