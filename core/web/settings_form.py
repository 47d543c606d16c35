"""The settings form: one input per registered setting, built from the settings registry.

Values are only *collected* here; :func:`services.set_settings` parses and validates them, exactly
as for ``tillbridge settings set``, so the page refuses what the CLI refuses with the same message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from starlette.datastructures import FormData

from ..settings import SettingsRegistry, SettingSpec

GROUP_TITLES = {
    "export": "Exports to the point of sale",
    "products": "Products",
    "sales": "Sales",
    "accounting": "Accounting",
    "log": "Connection log",
    "schedule": "Polling intervals",
    "general": "General",
}
GROUP_ORDER = ("export", "products", "sales", "accounting", "general", "log", "schedule")
#: The core's options for the retailer, in the order of the integration page they know (a setting
#: with ``after`` is placed right after the one it names; the rest of the non-advanced settings,
#: e.g. plugins', follow in registration order).
SEED_ORDER = ("export_customers", "export_products", "export_stock", "include_assembled", "product_master")
#: Labels of settings that registered none (others: the name, spelled out).
LABELS: dict[str, str] = {}
#: Labels of choice values that read better spelled out.
CHOICE_LABELS = {"product_master": {"pos": "Point of sale is master", "inventory": "Inventory is master"}}
#: Empty rows a map offers for new entries.
NEW_ROWS = 1

Options = list[tuple[str, str]]
#: ``lists(setting, "key" | "value")`` → (options or None, a note saying why the list is missing).
Lists = Callable[[SettingSpec, str], tuple["Options | None", "str | None"]]


@dataclass
class MapRow:
    key: str
    value: str


@dataclass
class SettingField:
    spec: SettingSpec
    text: str  # value as the input shows it
    checked: bool
    options: list[tuple[str, str]] | None  # (value, label) for a select
    note: str | None  # e.g. why the list could not be loaded
    disabled: bool
    explanation: str | None = None  # what the current value does (``SettingSpec.explain``)
    rows: list[MapRow] = field(default_factory=list)  # a map's entries, then empty ones to add
    key_options: list[tuple[str, str]] | None = None  # a map's keys to pick from

    @property
    def label(self) -> str:
        return self.spec.label or LABELS.get(self.spec.name) or self.spec.name.replace("_", " ").capitalize()


def build_fields(registry: SettingsRegistry, current: Mapping[str, Any], draft: Mapping[str, str],
                 remote: Callable[[str], tuple[list[str] | None, str | None]],
                 systems: Mapping[str, str] | None = None,
                 lists: Lists | None = None) -> tuple[list[SettingField], list[tuple[str, list[SettingField]]]]:
    """``(the retailer's options in the seed's order, [(title, advanced fields)]
    by group)``; ``draft`` holds what the user typed before a refusal, ``remote(name)`` returns a
    setting's allowed names from the remote system, ``lists(spec, part)`` a map's or a value's
    options (or a reason)."""
    main: list[SettingField] = []
    groups: dict[str, list[SettingField]] = {}
    for spec in registry:
        value = current.get(spec.name)
        text = draft[spec.name] if spec.name in draft else spec.render(value)
        checked = (text == "on") if spec.type == "bool" else False
        options: list[tuple[str, str]] | None = None
        key_options: list[tuple[str, str]] | None = None
        note = None
        rows: list[MapRow] = []
        if spec.type == "choice":
            labels = CHOICE_LABELS.get(spec.name, {})
            options = [(c, labels.get(c, c)) for c in spec.choices]
        elif spec.choices_from:
            names, note = remote(spec.name)
            if names is not None:
                options = [("", "(none)")] + [(n, n) for n in names]
                if text and text not in names:
                    options.append((text, f"{text} (not found in the list)"))
        elif spec.type == "map":
            try:
                entries = json.loads(text) if text else {}
            except ValueError:
                entries = {}
            rows = [MapRow(str(k), str(v)) for k, v in sorted(dict(entries).items())] + [MapRow("", "")] * NEW_ROWS
            if lists is not None and spec.key_options is not None:
                key_options, note = lists(spec, "key")
            if lists is not None and spec.value_options is not None:
                options, value_note = lists(spec, "value")
                note = note or value_note
        elif spec.value_options is not None and lists is not None:
            listed, note = lists(spec, "value")
            if listed:
                options = [("", "(none)")] + listed
                if text and text not in {v for v, _ in listed}:
                    options.append((text, f"{text} (not found in the list)"))
        disabled = False
        if spec.requires:
            required = draft.get(spec.requires, registry.spec(spec.requires).render(current.get(spec.requires)))
            disabled = required != "on"
        explanation = spec.explain(current, systems or {}) if spec.explain else None
        made = SettingField(spec, text, checked, options, note, disabled, explanation, rows, key_options)
        if spec.advanced:
            groups.setdefault(spec.group, []).append(made)
        else:
            main.append(made)
    seed = {name: i for i, name in enumerate(SEED_ORDER)}
    main.sort(key=lambda f: seed.get(f.spec.name, len(seed)))  # stable: plugins' keep their order
    main = placed_after(main)
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    advanced = [(GROUP_TITLES.get(g, g.replace("_", " ").capitalize()), fields)
                for g, fields in sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))]
    return main, advanced


def placed_after(fields: list[SettingField]) -> list[SettingField]:
    """``fields`` with each one whose ``after`` names another moved right after it (several after
    the same one keep their order); an ``after`` naming no field here is ignored."""
    names = {f.spec.name for f in fields}
    waiting = [f for f in fields if f.spec.after in names and f.spec.after != f.spec.name]
    out = [f for f in fields if f not in waiting]
    while waiting:
        ready = [f for f in waiting if any(g.spec.name == f.spec.after for g in out)]
        if not ready:  # a cycle of ``after``s: keep them at the end rather than loop
            return out + waiting
        for f in ready:
            anchor = next(i for i, g in enumerate(out) if g.spec.name == f.spec.after)
            while anchor + 1 < len(out) and out[anchor + 1].spec.after == f.spec.after:
                anchor += 1
            out.insert(anchor + 1, f)
            waiting.remove(f)
    return out


def submitted(registry: SettingsRegistry, form: FormData) -> dict[str, str]:
    """Every setting the form carried, as text (a checkbox sends a hidden "off" before it; a map
    sends its rows as ``NAME.key`` / ``NAME.value`` pairs, a row with an empty key is dropped)."""
    out: dict[str, str] = {}
    for spec in registry:
        if spec.type == "map" and form.getlist(f"{spec.name}.key"):
            keys, values = form.getlist(f"{spec.name}.key"), form.getlist(f"{spec.name}.value")
            entries = {str(k).strip(): str(v).strip() for k, v in zip(keys, values) if str(k).strip()}
            out[spec.name] = json.dumps(entries, sort_keys=True)
            continue
        values = form.getlist(spec.name)
        if values:
            out[spec.name] = str(values[-1])
    return out


def changes(registry: SettingsRegistry, current: Mapping[str, Any], raw: Mapping[str, str]) -> dict[str, str]:
    """Only what differs from the current values, so untouched defaults stay defaults."""
    return {name: text for name, text in raw.items() if registry.spec(name).render(current.get(name)) != text.strip()}
