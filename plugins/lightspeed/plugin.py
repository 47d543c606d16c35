"""The Lightspeed Retail (X-Series) plugin, found through the ``tillbridge`` entry-point group."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import click

from tillbridge import SettingSpec, hookimpl


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    from .connector import LightspeedConnector

    register(LightspeedConnector)


@hookimpl
def register_emulators(register: Callable[[type], None]) -> None:
    from .emulator import LightspeedEmulator

    register(LightspeedEmulator)


@hookimpl
def register_settings(register: Callable[[SettingSpec], None]) -> None:
    register(SettingSpec(
        "export_codes_with_spaces", "bool", False,
        "Export products whose code has spaces anyway (Lightspeed strips them). Sales still match, "
        "because tillbridge binds products by id, but the codes will differ in the two systems.",
        group="export", label="Export product codes with spaces anyway", advanced=True,
    ))
    register(SettingSpec(
        "stock_count_threshold", "int", 50,
        "A stock export to one outlet of more products than this sets them with one Lightspeed "
        "inventory count (filtered to exactly those products; hundreds of calls instead of one per "
        "product). Sales rung up while the count is open are taken off it. 0: one update per product.",
        group="export", label="Use an inventory count above this many products", advanced=True, minimum=0,
    ))
    register(SettingSpec(
        "stock_count_batch", "int", 15_000,
        "How many stock levels one stock export gathers before it sets them (one inventory count per "
        "outlet for each batch). Larger: fewer Lightspeed calls for a big catalogue; smaller: less "
        "memory (about 2.5 KB a level while it is gathered).",
        group="export", label="Stock levels per inventory count batch", advanced=True, minimum=1000,
    ))


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .commands import register

    connect = cli.commands.get("connect")
    if isinstance(connect, click.Group):
        register(connect)


@hookimpl
def demo_scenario(emulators: Mapping[str, Any], stage: str) -> None:
    from .demo import play

    if "lightspeed" in emulators:
        play(emulators["lightspeed"], stage)


@hookimpl
def register_webhook_handlers(register: Callable[[Any], None]) -> None:
    from .webhooks import LightspeedWebhooks

    register(LightspeedWebhooks())


@hookimpl
def fetch_dated(connector: Any, entity_type: str, start: Any, end: Any, references: Any) -> Any:
    from .connector import LightspeedConnector
    from .dated import sales_of_day

    if not isinstance(connector, LightspeedConnector) or entity_type != "sale":
        return None
    return sales_of_day(connector, start, end)
