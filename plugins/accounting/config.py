"""The accounting plugin's flow and per-connection settings, and a fresh read of them.

Settings are registered through ``register_settings`` like the core's; the sender reads them
straight from the database before each provider write (:func:`load`), so switching the plugin
off in one process (the CLI) stops a daemon in another at its next batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from tillbridge import ConnectionState, Flow, SettingError, SettingSpec

SWITCH = "accounting_invoice"
SINCE = "accounting_since"
SALES_ACCOUNT = "accounting_sales_account"
ACCOUNT_MAP = "accounting_account_map"
TAX_MAP = "accounting_tax_map"
INTERVAL = "interval_invoices"
#: invoice batches sent to the provider side by side (at most the provider's own limit)
PUSH_CONCURRENCY = "accounting_push_concurrency"

FLOW_NAME = "invoices"

INVOICES_FLOW = Flow(
    FLOW_NAME, "invoice", "inventory", "accounting", switch=SWITCH, interval_setting=INTERVAL,
    description="Sales invoices of the inventory system become invoices in the accounting provider, once",
)

def explain_switch(values: Mapping[str, Any], systems: Mapping[str, str]) -> str | None:
    """Which invoices go, in the retailer's words (beside the switch on the console)."""
    provider = systems.get("accounting") or "the accounting system"
    since = _moment_or_none(values.get(SINCE))
    if values.get(SWITCH):
        if since is None:
            return f"Every invoice of the inventory system is sent to {provider}."
        return f"Invoices dated from {since:%Y-%m-%d %H:%M} UTC are sent to {provider}; older ones are not."
    return (f"Off: nothing is sent to {provider}. When you switch it on, only invoices made from the moment "
            "you switch it on are sent, unless you also enter an earlier start date below.")


def _moment_or_none(text: Any) -> datetime | None:
    try:
        return parse_moment(text)
    except ValueError:
        return None


def _inventory_taxes(app: Any, name: str) -> list[tuple[str, str]]:
    """The inventory system's tax codes, ``[(code, "code — name rate%")]``."""
    from tillbridge.admin import Admin

    admin = Admin.of(app)
    if not admin.connection(name).has_role("inventory"):
        return []
    out = {(t.code, f"{t.code} — {t.name} {(t.rate * 100).normalize():f}%")
           for t in admin.read_all(name, "inventory", "tax") if getattr(t, "code", None)}
    return sorted(out)


def _provider_options(app: Any, name: str, what: str) -> list[tuple[str, str]]:
    from tillbridge.admin import Admin

    from .services import provider_of

    if not Admin.of(app).connection(name).has_role("accounting"):
        return []
    provider = provider_of(app, name)
    return provider.account_options() if what == "account" else provider.tax_options()


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        SWITCH, "bool", False,
        "Accounting system invoice: send every sales invoice to the accounting provider, exactly once. "
        "Leave off when Lightspeed already posts sales to accounting. However it is turned on (here, "
        "`tillbridge accounting enable` or `settings set`), only invoices made from that moment are sent, "
        "unless you pick an earlier start date.", group="accounting", explain=explain_switch,
        label="Accounting system invoice",
    ),
    SettingSpec(
        SINCE, "str", None,
        "Invoices dated before this UTC moment are not sent: set to the moment the invoice switch "
        "turns on, or to an earlier date you pick (`accounting send --since`).", group="accounting",
        label="Send invoices dated from (UTC; YYYY-MM-DD)",
    ),
    SettingSpec(
        SALES_ACCOUNT, "str", None,
        "Default account for invoice lines: a Xero account code (Xero's own default: 200), or a "
        "QuickBooks item name or id.", group="accounting", label="Default sales account", advanced=True,
        value_options=lambda app, name: _provider_options(app, name, "account"),
    ),
    SettingSpec(
        ACCOUNT_MAP, "map", {},
        "Account per product or tax: keys are product codes or 'tax:CODE' (inventory tax codes), values "
        "provider account codes (QuickBooks: items). Set with `tillbridge accounting map-account`.",
        group="accounting", label="Account per product or inventory tax code", advanced=True,
        key_options=lambda app, name: [(f"tax:{code}", f"tax {label}") for code, label in _inventory_taxes(app, name)],
        value_options=lambda app, name: _provider_options(app, name, "account"),
    ),
    SettingSpec(
        TAX_MAP, "map", {},
        "Inventory tax code → provider tax type (Xero TaxType, QuickBooks tax code name or id), where "
        "matching by rate is ambiguous. Set with `tillbridge accounting map-tax`.", group="accounting",
        label="Tax mapping (inventory tax code → accounting tax type)", advanced=True,
        key_options=lambda app, name: _inventory_taxes(app, name),
        value_options=lambda app, name: _provider_options(app, name, "tax"),
    ),
    SettingSpec(
        PUSH_CONCURRENCY, "int", None,
        "Invoice batches sent to the provider at once (empty: the provider's default, Xero 5, its documented "
        "limit of calls in flight: https://developer.xero.com/documentation/guides/oauth2/limits/).",
        minimum=1, group="accounting", advanced=True, label="Invoice batches sent at once",
    ),
    SettingSpec(INTERVAL, "int", 300, "Seconds between invoice polls.", minimum=5, group="schedule", advanced=True),
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


def since_for_switch_on(before: Mapping[str, Any], changes: Mapping[str, Any],
                        now: datetime | None = None) -> dict[str, Any] | None:
    """The start to record when a change turns the invoice switch on without naming one: now.

    A stored start from an earlier time the switch was on is not reused: the invoices made while
    it was off would all go at once. A start that is not a date is refused."""
    if changes.get(SINCE):
        try:
            parse_moment(changes[SINCE])
        except ValueError:
            raise SettingError(f"{SINCE} must be a date, not {changes[SINCE]!r}",
                               fix="write it as YYYY-MM-DD (UTC), e.g. 2026-12-01") from None
    if not changes.get(SWITCH) or before.get(SWITCH) or changes.get(SINCE):
        return None
    return {SINCE: (now or datetime.now(timezone.utc)).isoformat()}


def load(state: ConnectionState) -> AccountingConfig:
    """Read the settings from the database now (not from a runtime's snapshot)."""
    return from_values(state.settings())
