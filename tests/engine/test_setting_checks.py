"""A plugin's setting that names something in a connection's system is checked there on save,
listed from there in the console, and placed where the plugin says; core knows no vendor's
settings or peers by name."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tillbridge import Connector, ConnectorContext, Location, Page, SettingError, SettingSpec, TransientError, hookimpl
from tillbridge import services
from tillbridge.web.settings_form import build_fields

CORE = Path(__file__).resolve().parents[2] / "core"


class Acme(Connector):
    """A third party's inventory system whose warehouses a setting names."""

    system = "acme"
    title = "Acme Stock"
    short_title = "Acme"
    roles = frozenset({"pos", "inventory"})
    reads = frozenset({"location"})
    default_base_url = "http://acme.invalid"
    down = False
    fetched = 0

    def check(self) -> str:
        return "acme ok"

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        type(self).fetched += 1
        if type(self).down:
            raise TransientError("acme is down")
        return Page([Location(id=n, kind="warehouse", name=n, code=n) for n in ("North", "South")], None, more=False)


def check_store(connector: Any, value: Any) -> str:
    names = {r.name.lower(): r.name for r in connector.fetch("location", None).records}
    if str(value).lower() not in names:
        raise SettingError(f"{connector.system} has no store {value!r}", fix="use North or South")
    return names[str(value).lower()]


class AcmePlugin:
    @hookimpl
    def register_connectors(self, register):  # type: ignore[no-untyped-def]
        register(Acme)

    @hookimpl
    def register_settings(self, register):  # type: ignore[no-untyped-def]
        register(SettingSpec("acme_store", "str", None, "Store orders go to.", role="inventory",
                             choices_from="location", check=check_store, after="export_products"))


@pytest.fixture
def acme_app(make_app):  # type: ignore[no-untyped-def]
    app = make_app(None)
    app.plugins.register(AcmePlugin(), name="acme")
    Acme.down, Acme.fetched = False, 0
    services.add_connection(app, "a", {"pos": ("acme", None), "inventory": ("acme", None)})
    return app


def test_a_third_party_setting_is_checked_against_its_system_on_save(acme_app) -> None:  # type: ignore[no-untyped-def]
    change = services.set_settings(acme_app, "a", {"acme_store": "north"})
    assert change.values["acme_store"] == "North" and change.notes == []  # the system's spelling
    with pytest.raises(SettingError, match="acme has no store 'East'"):
        services.set_settings(acme_app, "a", {"acme_store": "East"})
    assert acme_app.store.settings(acme_app.store.connection("a").id or 0)["acme_store"] == "North"

    Acme.down = True
    change = services.set_settings(acme_app, "a", {"acme_store": "Anywhere"})
    assert change.values["acme_store"] == "Anywhere"
    assert change.notes == ["saved without checking it against acme: acme is down"]

    calls = Acme.fetched
    services.set_settings(acme_app, "a", {"acme_store": "", "interval_sales": "60"})  # nothing to check
    assert Acme.fetched == calls


def test_a_connection_without_the_role_saves_the_setting_with_a_note(acme_app) -> None:  # type: ignore[no-untyped-def]
    services.add_connection(acme_app, "b", {"pos": ("acme", None)})
    change = services.set_settings(acme_app, "b", {"acme_store": "East"})
    assert change.values["acme_store"] == "East"
    assert change.notes == ["not checked against the inventory system: the connection has none yet"]


def test_a_check_or_a_list_needs_a_role() -> None:
    with pytest.raises(ValueError, match="no role"):
        SettingSpec("x", "str", None, "x", check=check_store)


def test_the_console_lists_choices_from_the_system_and_places_the_setting_after(acme_app) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def remote(name: str) -> tuple[list[str] | None, str | None]:
        asked.append(name)
        return ["North", "South"], None

    registry = acme_app.registries.settings
    main, _advanced = build_fields(registry, registry.defaults(), {}, remote)
    names = [f.spec.name for f in main]
    # right after export_products, behind the ones placed there before it (the Unleashed plugin's)
    assert names.index("export_products") < names.index("acme_store") == names.index("export_stock") - 1
    store = next(f for f in main if f.spec.name == "acme_store")
    assert store.options == [("", "(none)"), ("North", "North"), ("South", "South")] and "acme_store" in asked


def test_connectors_name_their_peers_from_the_connection(acme_app) -> None:  # type: ignore[no-untyped-def]
    connector = acme_app.runtime("a").connector("inventory")
    assert connector.context.peer_name("pos") == "Acme"
    assert connector.context.peer_name("accounting") == "the accounting system"
    bare = ConnectorContext(connection="c", system="acme", base_url="http://x", credentials={},
                            save_credentials=lambda _v: None, settings={}, http=httpx.Client())
    assert bare.peer_name("inventory") == "the inventory system"


def test_core_knows_no_inventory_systems_settings_or_peer_names() -> None:
    """The Unleashed plugin owns its settings and connectors name peers through the context: core
    never spells them (``sales_group`` stays only as the SalesGroup entity's type name)."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        text = path.read_text()
        text = text.replace('entity_type: ClassVar[str] = "sales_group"', "")
        for word in ("sales_group", "default_customer", "tax_map"):
            for match in re.finditer(rf"\b{word}\b", text):
                found.append(f"{path.relative_to(CORE)}:{text.count(chr(10), 0, match.start()) + 1}: {word}")
        for match in re.finditer(r"\bin (Lightspeed|Unleashed)\b", text):
            found.append(f"{path.relative_to(CORE)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()}")
    assert not found, found
