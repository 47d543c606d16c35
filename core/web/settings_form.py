"""The settings form: one input per registered setting, built from the settings registry.

Values are only *collected* here; :func:`services.set_settings` parses and validates them, exactly
as for ``tillbridge settings set``, so the page refuses what the CLI refuses with the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from starlette.datastructures import FormData

from ..settings import SettingsRegistry, SettingSpec

GROUP_TITLES = {
    "export": "Exports to the point of sale",
    "products": "Products",
    "sales": "Sales",
    "accounting": "Accounting",
    "log": "Connection log",
    "schedule": "Schedule",
    "general": "General",
}
GROUP_ORDER = ("export", "products", "sales", "accounting", "general", "log", "schedule")
#: Settings whose value must be one of a list the connection's systems hold:
#: setting → (role whose system has the list, entity type to fetch).
REMOTE_CHOICES: dict[str, tuple[str, str]] = {"sales_group": ("inventory", "sales_group")}
#: Labels of settings the integration page has always called so (others: the name, spelled out).
LABELS = {
    "export_customers": "Export customers",
    "export_products": "Export products",
    "export_stock": "Export stock on hand",
    "include_assembled": "Include quantities for auto-assembled products",
    "product_master": "Update products: master system",
    "sales_group": "Default sales group",
    "default_customer": "Walk-in customer code",
    "tax_map": "Tax mapping",
    "log_retention_days": "Keep log entries (days)",
}
#: Labels of choice values that read better spelled out.
CHOICE_LABELS = {"product_master": {"pos": "Point of sale is master", "inventory": "Inventory is master"}}


@dataclass
class SettingField:
    spec: SettingSpec
    text: str  # value as the input shows it
    checked: bool
    options: list[tuple[str, str]] | None  # (value, label) for a select
    note: str | None  # e.g. why the list could not be loaded
    disabled: bool
    explanation: str | None = None  # what the current value does (``SettingSpec.explain``)

    @property
    def label(self) -> str:
        return LABELS.get(self.spec.name) or self.spec.name.replace("_", " ").capitalize()


def build_fields(registry: SettingsRegistry, current: Mapping[str, Any], draft: Mapping[str, str],
                 remote: Callable[[str], tuple[list[str] | None, str | None]],
                 systems: Mapping[str, str] | None = None) -> list[tuple[str, list[SettingField]]]:
    """Fields grouped for the page; ``draft`` holds what the user typed before a refusal,
    ``remote(name)`` returns a setting's allowed values from the remote system (or a reason)."""
    groups: dict[str, list[SettingField]] = {}
    for spec in registry:
        value = current.get(spec.name)
        text = draft[spec.name] if spec.name in draft else spec.render(value)
        checked = (text == "on") if spec.type == "bool" else False
        options: list[tuple[str, str]] | None = None
        note = None
        if spec.type == "choice":
            labels = CHOICE_LABELS.get(spec.name, {})
            options = [(c, labels.get(c, c)) for c in spec.choices]
        elif spec.name in REMOTE_CHOICES:
            names, note = remote(spec.name)
            if names is not None:
                options = [("", "(none)")] + [(n, n) for n in names]
                if text and text not in names:
                    options.append((text, f"{text} (not found in the list)"))
        disabled = False
        if spec.requires:
            required = draft.get(spec.requires, registry.spec(spec.requires).render(current.get(spec.requires)))
            disabled = required != "on"
        explanation = spec.explain(current, systems or {}) if spec.explain else None
        groups.setdefault(spec.group, []).append(
            SettingField(spec, text, checked, options, note, disabled, explanation))
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    return [(GROUP_TITLES.get(g, g.replace("_", " ").capitalize()), fields)
            for g, fields in sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]


def submitted(registry: SettingsRegistry, form: FormData) -> dict[str, str]:
    """Every setting the form carried, as text (a checkbox sends a hidden "off" before it)."""
    out: dict[str, str] = {}
    for spec in registry:
        values = form.getlist(spec.name)
        if values:
            out[spec.name] = str(values[-1])
    return out


def changes(registry: SettingsRegistry, current: Mapping[str, Any], raw: Mapping[str, str]) -> dict[str, str]:
    """Only what differs from the current values, so untouched defaults stay defaults."""
    return {name: text for name, text in raw.items() if registry.spec(name).render(current.get(name)) != text.strip()}
