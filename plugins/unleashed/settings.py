"""Settings only an Unleashed inventory has: the sales order group, the walk-in customer, the tax
code mapping, each checked against Unleashed when saved (it refuses orders naming a group or a
tax code it does not have, https://support.unleashedsoftware.com/hc/en-us/articles/4402392521241-Sales-Groups,
https://apidocs.unleashedsoftware.com/Taxes)."""

from __future__ import annotations

from typing import Any

from tillbridge import Connector, SalesGroup, SettingError, SettingSpec, Tax
from tillbridge.admin import Admin

MAX_PAGES = 20  # these lists are short; a bound keeps a misbehaving API from looping


def _records(connector: Connector, entity_type: str) -> list[Any]:
    records: list[Any] = []
    cursor = None
    for _page in range(MAX_PAGES):
        page = connector.fetch(entity_type, cursor)
        records.extend(page.records)
        cursor = page.cursor
        if not page.more:
            break
    return records


def check_sales_group(connector: Connector, value: Any) -> str:
    """The group as the system spells it; refused when it has no such (live) group."""
    names = {g.name.lower(): g.name for g in _records(connector, "sales_group")
             if isinstance(g, SalesGroup) and not g.obsolete}
    given = str(value)
    if given.lower() not in names:
        known = ", ".join(sorted(names.values())) or "none"
        raise SettingError(f"{connector.system} has no sales group {given!r}",
                           fix=f"use one of: {known} (or add it in {connector.system} first)")
    return names[given.lower()]


def check_tax_codes(connector: Connector, value: Any) -> dict[str, str]:
    """The mapping unchanged; refused when a value is not one of the system's tax codes."""
    codes = {t.code for t in _records(connector, "tax") if isinstance(t, Tax)}
    unknown = sorted({str(v) for v in dict(value).values()} - codes)
    if unknown:
        raise SettingError(f"{connector.system} has no tax code {', '.join(map(repr, unknown))}",
                           fix=f"use one of: {', '.join(sorted(codes)) or 'none'}")
    return dict(value)


def tax_options(app: Any, name: str, role: str) -> list[tuple[str, str]]:
    """Tax codes of the system in ``role`` to pick from: ``[(code, "code — name 15%")]``; the
    point of sale's are keyed by rate ("15%"), as ``tax_map`` matches them."""
    admin = Admin.of(app)
    system = admin.connection(name).system_of(role)
    if system is None or "tax" not in admin.connector_class(system).reads:
        return []
    out = set()
    for record in admin.read_all(name, role, "tax"):
        rate = getattr(record, "rate", None)
        pct = f"{(rate * 100).normalize():f}%" if rate is not None else ""
        label = f"{getattr(record, 'name', '') or ''} {pct}".strip()
        if role == "pos" and pct:
            out.add((pct, f"{pct} — {getattr(record, 'name', '')}"))
        elif getattr(record, "code", None):
            out.add((str(record.code), f"{record.code} — {label}" if label else str(record.code)))
    return sorted(out, key=lambda o: o[0].lower())


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("sales_group", "str", None,
                "Sales group added to every order created from a POS sale (must exist in the inventory system).",
                group="sales", label="Add sales group", role="inventory", choices_from="sales_group",
                check=check_sales_group, after="export_products"),
    SettingSpec(
        "default_customer", "str", "WALKIN",
        "Customer code used for walk-in sales that have no customer.", group="sales",
        label="Walk-in customer code", advanced=True,
    ),
    SettingSpec(
        "tax_map", "map", {},
        'Tax code to use where matching by rate is ambiguous: {"15%": "CODE"}; keys may also be a POS tax id.',
        group="sales", label="Tax mapping (point of sale tax → inventory tax code)", advanced=True,
        key_options=lambda app, name: tax_options(app, name, "pos"),
        value_options=lambda app, name: tax_options(app, name, "inventory"),
        role="inventory", check=check_tax_codes,
    ),
)
