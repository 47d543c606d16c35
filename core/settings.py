"""Per-connection settings: the switches of the integration page, typed and validated.

The same specs validate the CLI (``tillbridge settings set``) and the web console, so a value is
refused with the same message wherever it is entered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from .errors import SettingError

SettingType = str  # "bool" | "int" | "str" | "choice" | "map"
#: ``source(app, connection_name)`` → ``[(value, label)]``: a list a setting's value is picked from.
OptionSource = Callable[[Any, str], "list[tuple[str, str]]"]

_TRUE = {"true", "yes", "on", "1", "enabled", "enable"}
_FALSE = {"false", "no", "off", "0", "disabled", "disable"}


@dataclass(frozen=True)
class SettingSpec:
    """One setting.

    :param type: ``bool``, ``int``, ``str``, ``choice`` (one of ``choices``) or ``map``
        (a JSON object of string to string, e.g. a tax-code mapping).
    :param requires: name of a boolean setting that must be on for this one to be on.
    :param minimum: lowest accepted value for ``int`` settings.
    :param explain: optional ``explain(values, systems)`` → a sentence saying what the current
        value does (shown beside the setting in the console), from the connection's settings and
        its systems' titles by role (``{"accounting": "Xero"}``); ``None`` for nothing to say.
    :param label: the words the integration page uses for it (default: the name spelled out).
    :param advanced: shown in the console's "Advanced" section, after the retailer's options.
    :param key_options: for a ``map``: ``key_options(app, connection)`` → ``[(value, label)]`` the
        keys are picked from (e.g. the inventory system's tax codes); ``None``: typed.
    :param value_options: the same for the values (e.g. the accounting provider's accounts).
    :param role: the role of the system whose records the value names (``"inventory"``), for
        ``choices_from`` and ``check``.
    :param choices_from: an entity type of ``role``'s system: the console offers the names of its
        records (not obsolete ones) to pick from, e.g. ``"location"``.
    :param check: ``check(connector, value)`` → the value to save, called with a connector of
        ``role``'s system when the setting is saved with a non-empty value (CLI, console, any
        :func:`tillbridge.services.set_settings` caller): raise
        :class:`~tillbridge.errors.SettingError` to refuse it (e.g. a name the system does not
        have); return it normalised (e.g. in the system's spelling). When the system cannot be
        reached (a :class:`~tillbridge.errors.TillbridgeError` or ``httpx.HTTPError``) the value
        is saved unchecked and the user told so.
    :param after: in the console's list of the retailer's options, show this setting right after
        the one named (e.g. a plugin's option next to the core switch it qualifies).
    """

    name: str
    type: SettingType
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    requires: str | None = None
    minimum: int | None = None
    group: str = "general"
    explain: Callable[[Mapping[str, Any], Mapping[str, str]], str | None] | None = field(
        default=None, compare=False, repr=False)
    label: str | None = None
    advanced: bool = False
    key_options: OptionSource | None = field(default=None, compare=False, repr=False)
    value_options: OptionSource | None = field(default=None, compare=False, repr=False)
    role: str | None = None
    choices_from: str | None = None
    check: Callable[[Any, Any], Any] | None = field(default=None, compare=False, repr=False)
    after: str | None = None

    def __post_init__(self) -> None:
        if (self.check or self.choices_from) and not self.role:
            raise ValueError(f"setting {self.name!r} has a check or choices_from but no role to ask")

    def parse(self, raw: Any) -> Any:
        """Turn user input (a string from the CLI or a form, or a typed value) into the value."""
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and self.type in {"str"}):
            return None if self.type == "str" else self.default
        try:
            if self.type == "bool":
                if isinstance(raw, bool):
                    return raw
                text = str(raw).strip().lower()
                if text in _TRUE:
                    return True
                if text in _FALSE:
                    return False
                raise ValueError
            if self.type == "int":
                value = int(str(raw).strip())
                if self.minimum is not None and value < self.minimum:
                    raise SettingError(f"{self.name} must be at least {self.minimum}, not {value}")
                return value
            if self.type == "choice":
                text = str(raw).strip()
                if text not in self.choices:
                    raise SettingError(
                        f"{self.name} cannot be {text!r}",
                        fix=f"choose one of: {', '.join(self.choices)}",
                    )
                return text
            if self.type == "map":
                mapping = json.loads(raw) if isinstance(raw, str) else dict(raw)
                if not isinstance(mapping, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
                ):
                    raise ValueError
                return mapping
            return str(raw).strip()
        except SettingError:
            raise
        except (ValueError, TypeError):
            expected = {
                "bool": "true or false",
                "int": "a whole number",
                "map": 'a JSON object of strings, e.g. {"a": "b"}',
            }.get(self.type, "text")
            raise SettingError(f"{self.name} must be {expected}, not {raw!r}") from None

    def render(self, value: Any) -> str:
        if self.type == "bool":
            return "on" if value else "off"
        if self.type == "map":
            return json.dumps(value or {}, sort_keys=True)
        return "" if value is None else str(value)


class SettingsRegistry:
    """All known settings (core's and plugins'), with validation of a whole set of values."""

    def __init__(self) -> None:
        self._specs: dict[str, SettingSpec] = {}

    def register(self, spec: SettingSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"setting {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

    def __contains__(self, name: str) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[SettingSpec]:
        return iter(self._specs.values())

    def spec(self, name: str) -> SettingSpec:
        try:
            return self._specs[name]
        except KeyError:
            close = [n for n in self._specs if name.replace("-", "_") in n or n in name]
            hint = f"did you mean {', '.join(close)}?" if close else "see `tillbridge settings show`"
            raise SettingError(f"there is no setting {name!r}", fix=hint) from None

    def defaults(self) -> dict[str, Any]:
        return {s.name: s.default for s in self._specs.values()}

    def resolve(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with stored values (unknown stored names are ignored)."""
        values = self.defaults()
        values.update({k: v for k, v in stored.items() if k in self._specs})
        return values

    def check(self, values: Mapping[str, Any]) -> None:
        """Cross-setting rules: a setting that ``requires`` another needs it on."""
        zone = values.get("time_zone")
        if zone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                raise SettingError(f"time_zone {zone!r} is not a time zone name",
                                   fix="use a name like Pacific/Auckland, Europe/London or UTC, or leave it "
                                       "empty to use the point of sale's") from None
        for spec in self._specs.values():
            if spec.requires and values.get(spec.name) and not values.get(spec.requires):
                raise SettingError(
                    f"{spec.name} needs {spec.requires} to be on",
                    fix=f"turn on {spec.requires} first (tillbridge settings set {spec.requires} on)",
                )


CORE_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("export_customers", "bool", False, "Export customers from inventory to the POS.", group="export",
                label="Export customers"),
    SettingSpec(
        "export_products", "bool", False,
        "Export products from inventory to the POS. Codes with spaces are refused: the POS strips "
        "spaces, so later sales could not be matched back.", group="export", label="Export products",
    ),
    SettingSpec(
        "export_stock", "bool", False,
        "Export stock on hand to every mapped POS outlet as Available = on hand − allocated. One "
        "global switch for all mappings.", group="export", label="Export stock on hand",
    ),
    SettingSpec(
        "include_assembled", "bool", False,
        "Include quantities for auto-assembled products: add what could be built from components.",
        requires="export_stock", group="export", label="Include quantities for auto-assembled products",
    ),
    SettingSpec(
        "import_opening_stock", "bool", True,
        "Take the POS's stock on hand of each newly imported product into the mapped warehouse once, "
        "with its value (so the average cost is right). Turn off if the inventory system's stock is "
        "already right.", group="products",
    ),
    SettingSpec(
        "product_master", "choice", "pos",
        "Update products: which system is master for product details (price, notes, description).",
        choices=("pos", "inventory"), group="products", label="Update products master",
    ),
    SettingSpec("log_retention_days", "int", 90,
                "Days the connection log keeps entries (open failures stay until resolved); applied by every sync "
                "and by `tillbridge log prune`.", minimum=1, group="log", label="Keep log entries (days)",
                advanced=True),
    SettingSpec("interval_sales", "int", 60, "Seconds between sales polls.", minimum=5, group="schedule", advanced=True),
    SettingSpec("interval_stock", "int", 60, "Seconds between stock exports.", minimum=5, group="schedule", advanced=True),
    SettingSpec("interval_products", "int", 900, "Seconds between product polls.", minimum=5, group="schedule", advanced=True),
    SettingSpec("interval_customers", "int", 900, "Seconds between customer polls.", minimum=5, group="schedule", advanced=True),
    SettingSpec("time_zone", "str", None,
                "Time zone of your trading day, for the daily reconciliation (a name such as "
                "Pacific/Auckland). Leave empty to use your point of sale's time zone (UTC if it has none).",
                group="advanced", label="Time zone", advanced=True),
)


Validator = Callable[[Mapping[str, Any]], None]
