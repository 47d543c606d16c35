"""The accounting plugin: sales invoices to Xero or QuickBooks Online, exactly once.

Found through the ``tillbridge`` entry-point group. Enabled per connection with the
``accounting_invoice`` setting (``tillbridge accounting enable``). The core knows nothing about
accounting: this plugin adds the provider connectors (role ``accounting``), the ``invoices``
flow (inventory → accounting), its settings and the ``accounting`` / ``connect xero|quickbooks``
commands. Another provider is another plugin: see :mod:`tillbridge_accounting.provider`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

import click

from tillbridge import DatedRecord, Flow, SettingSpec, hookimpl

from .config import INVOICES_FLOW, SETTINGS


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    from .quickbooks import QuickBooksConnector
    from .xero import XeroConnector

    register(XeroConnector)
    register(QuickBooksConnector)


@hookimpl
def register_emulators(register: Callable[[type], None]) -> None:
    from .emulator import QuickBooksEmulator, XeroEmulator

    register(XeroEmulator)
    register(QuickBooksEmulator)


@hookimpl
def register_flows(register: Callable[[Flow], None]) -> None:
    register(INVOICES_FLOW)


@hookimpl
def register_settings(register: Callable[[SettingSpec], None]) -> None:
    for spec in SETTINGS:
        register(spec)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .commands import register

    register(cli)


@hookimpl
def complete_settings(before: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Whatever path turns accounting invoices on (the console's switch, ``settings set``,
    ``accounting enable``, code calling ``App.set_settings``), invoices made before that moment
    are not sent, unless the same change names an earlier start on purpose."""
    from .config import since_for_switch_on

    return since_for_switch_on(before, changes)


@hookimpl
def fetch_dated(connector: object, entity_type: str, start: datetime, end: datetime,
                references: Sequence[str]) -> list[DatedRecord] | None:
    from .dated import invoices_of_day
    from .provider import AccountingConnector

    if not isinstance(connector, AccountingConnector) or entity_type != "invoice":
        return None
    return invoices_of_day(connector, start, references)
