"""What a Xero organisation holds in the emulator, plus the app's connections to organisations.

Records are kept close to the wire format (Xero field names) but with Decimal money and
``date``/``datetime`` values; ``xero_render`` turns them into JSON. Keys starting with ``_`` and
``SourceApp`` are emulator bookkeeping and never leave through the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

#: Seeded chart of accounts (codes and names as in the Xero NZ demo company).
DEFAULT_ACCOUNTS: list[dict[str, Any]] = [
    {"Code": "090", "Name": "Business Bank Account", "Type": "BANK", "TaxType": "NONE",
     "BankAccountNumber": "0209087654321050", "BankAccountType": "BANK"},
    {"Code": "200", "Name": "Sales", "Type": "REVENUE", "TaxType": "OUTPUT2",
     "Description": "Income from any normal business activity"},
    {"Code": "260", "Name": "Other Revenue", "Type": "REVENUE", "TaxType": "OUTPUT2"},
    {"Code": "400", "Name": "Advertising", "Type": "EXPENSE", "TaxType": "INPUT2"},
]

#: Seeded tax rates (names and report types as in the spec's GET /TaxRates example).
DEFAULT_TAX_RATES: list[dict[str, Any]] = [
    {"TaxType": "OUTPUT2", "Name": "15% GST on Income", "Rate": "15", "ReportTaxType": "OUTPUT"},
    {"TaxType": "INPUT2", "Name": "15% GST on Expenses", "Rate": "15", "ReportTaxType": "INPUT"},
    {"TaxType": "NONE", "Name": "No GST", "Rate": "0", "ReportTaxType": "NONE"},
    {"TaxType": "EXEMPTOUTPUT", "Name": "Exempt Income", "Rate": "0", "ReportTaxType": "EXEMPTOUTPUT"},
]

#: Account ``Type`` → read-only ``Class`` (Account schema).
ACCOUNT_CLASS = {
    "BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET", "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET", "CURRLIAB": "LIABILITY", "LIABILITY": "LIABILITY", "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY", "EQUITY": "EQUITY", "DEPRECIATN": "EXPENSE", "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE", "OVERHEADS": "EXPENSE", "OTHERINCOME": "REVENUE", "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}


@dataclass
class XeroTenant:
    tenant_id: str
    name: str
    created_at: datetime
    base_currency: str
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tax_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoice_seq: int = 0

    def account(self, code: str) -> dict[str, Any] | None:
        return self.accounts.get(code.strip().upper())

    def tax_rate(self, tax_type: str) -> dict[str, Any] | None:
        return self.tax_rates.get(tax_type.strip().upper())


@dataclass
class XeroConnection:
    """One organisation connected to the app (identity spec ``Connection``)."""

    id: str
    auth_event_id: str
    tenant_id: str
    created_at: datetime
    updated_at: datetime


def make_account(raw: dict[str, Any], account_id: str, now: datetime, currency: str) -> dict[str, Any]:
    account_type = str(raw.get("Type", "REVENUE")).upper()
    record: dict[str, Any] = {
        "AccountID": account_id,
        "Code": str(raw["Code"]).strip().upper(),
        "Name": str(raw["Name"]),
        "Type": account_type,
        "TaxType": str(raw.get("TaxType") or ("NONE" if account_type == "BANK" else "OUTPUT2")),
        "Status": str(raw.get("Status", "ACTIVE")),
        "Class": ACCOUNT_CLASS.get(account_type, "ASSET"),
        "EnablePaymentsToAccount": bool(raw.get("EnablePaymentsToAccount", False)),
        "ShowInExpenseClaims": bool(raw.get("ShowInExpenseClaims", False)),
        "BankAccountType": str(raw.get("BankAccountType", "BANK" if account_type == "BANK" else "")),
        "ReportingCode": str(raw.get("ReportingCode", "")),
        "HasAttachments": False,
        "AddToWatchlist": False,
        "UpdatedDateUTC": now,
    }
    if raw.get("Description"):
        record["Description"] = str(raw["Description"])
    if account_type == "BANK":
        record["BankAccountNumber"] = str(raw.get("BankAccountNumber", ""))
        record["CurrencyCode"] = currency
    return record


def make_tax_rate(raw: dict[str, Any]) -> dict[str, Any]:
    rate = Decimal(str(raw.get("Rate", "0")))
    tax_type = str(raw["TaxType"]).strip().upper()
    income = tax_type in {"OUTPUT", "OUTPUT2", "EXEMPTOUTPUT", "NONE", "ZERORATED"} or "OUTPUT" in tax_type
    expense = tax_type in {"INPUT", "INPUT2", "NONE", "EXEMPTINPUT"} or "INPUT" in tax_type
    return {
        "Name": str(raw.get("Name", tax_type)),
        "TaxType": tax_type,
        "ReportTaxType": str(raw.get("ReportTaxType", "OUTPUT" if income else "INPUT")),
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": bool(raw.get("CanApplyToExpenses", expense)),
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": bool(raw.get("CanApplyToRevenue", income)),
        "DisplayTaxRate": rate,
        "EffectiveRate": rate,
        "Status": str(raw.get("Status", "ACTIVE")),
        "TaxComponents": [{"Name": str(raw.get("ComponentName", "GST")), "Rate": rate,
                           "IsCompound": False, "IsNonRecoverable": False}],
    }
