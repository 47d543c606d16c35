"""The accounting plugin's flow and per-connection settings, and a fresh read of them.

Settings are registered through ``register_settings`` like the core's; the sender reads them
straight from the database before each provider write (:func:`load`), so switching the plugin
off in one process (the CLI) stops a daemon in another at its next batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tillbridge import Flow, SettingSpec
from tillbridge.storage.store import Store

SWITCH = "accounting_invoice"
SINCE = "accounting_since"
SALES_ACCOUNT = "accounting_sales_account"
ACCOUNT_MAP = "accounting_account_map"
TAX_MAP = "accounting_tax_map"
INTERVAL = "interval_invoices"

FLOW_NAME = "invoices"

INVOICES_FLOW = Flow(
    FLOW_NAME, "invoice", "inventory", "accounting", switch=SWITCH, interval_setting=INTERVAL,
    description="Sales invoices of the inventory system become invoices in the accounting provider, once",
)

SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        SWITCH, "bool", False,
        "Accounting system invoice: send every sales invoice to the accounting provider, exactly once. "
        "Leave off when Lightspeed already posts sales to accounting. Turn on with "
        "`tillbridge accounting enable` (only invoices made after that are sent).", group="accounting",
    ),
    SettingSpec(
        SINCE, "str", None,
        "Invoices dated before this UTC moment are not sent (set by `accounting enable` and "
        "`accounting send --since`).", group="accounting",
    ),
    SettingSpec(
        SALES_ACCOUNT, "str", None,
        "Default account for invoice lines: a Xero account code (Xero's own default: 200), or a "
        "QuickBooks item name or id.", group="accounting",
    ),
    SettingSpec(
        ACCOUNT_MAP, "map", {},
        "Account per product or tax: keys are product codes or 'tax:CODE' (inventory tax codes), values "
        "provider account codes (QuickBooks: items). Set with `tillbridge accounting map-account`.",
        group="accounting",
    ),
    SettingSpec(
        TAX_MAP, "map", {},
        "Inventory tax code → provider tax type (Xero TaxType, QuickBooks tax code name or id), where "
        "matching by rate is ambiguous. Set with `tillbridge accounting map-tax`.", group="accounting",
    ),
    SettingSpec(INTERVAL, "int", 300, "Seconds between invoice polls.", minimum=5, group="schedule"),
)

_DEFAULTS = {spec.name: spec.default for spec in SETTINGS}


@dataclass(frozen=True)
class AccountingConfig:
    """The accounting settings of one connection as stored right now."""

    enabled: bool = False
    since: datetime | None = None
    sales_account: str | None = None
    account_map: dict[str, str] = field(default_factory=dict)
    tax_map: dict[str, str] = field(default_factory=dict)

    def account_for(self, product_code: str | None, tax_code: str | None) -> str | None:
        """Product code first, then ``tax:CODE``, then the default; ``None``: the provider's default."""
        if product_code and product_code in self.account_map:
            return self.account_map[product_code]
        if tax_code and f"tax:{tax_code}" in self.account_map:
            return self.account_map[f"tax:{tax_code}"]
        return self.account_map.get("default") or self.sales_account


def parse_moment(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def from_values(values: dict[str, Any]) -> AccountingConfig:
    merged = {**_DEFAULTS, **{k: v for k, v in values.items() if k in _DEFAULTS}}
    return AccountingConfig(
        enabled=bool(merged[SWITCH]),
        since=parse_moment(merged[SINCE]),
        sales_account=merged[SALES_ACCOUNT] or None,
        account_map=dict(merged[ACCOUNT_MAP] or {}),
        tax_map=dict(merged[TAX_MAP] or {}),
    )


def load(store: Store, connection_id: int) -> AccountingConfig:
    """Read the settings from the database now (not from a runtime's snapshot)."""
    return from_values(store.settings(connection_id))
