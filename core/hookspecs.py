"""The contract between tillbridge and its plugins. Strangers build on this file: keep it stable.

Rules (see docs/plugins.md for the reference and a tutorial):

* Registration hooks (``register_*``) fan out to every plugin and hand it a ``register`` callback;
  the host owns the registry and refuses duplicates.
* Data-plane hooks (``fetch_entities``, ``push_entities``, ``map_location``,
  ``compute_available``) are ``firstresult``: the first non-``None`` answer wins. Each takes the
  connector (or systems) it is about, so a call reaches one connector only; the core's own
  default is registered ``trylast`` so any plugin can override it by answering first.
* Observer hooks (``on_sync_event``) fan out and must not raise; the host isolates them anyway.
* New arguments are only ever added at the end; plugins may accept a subset of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import pluggy

if TYPE_CHECKING:
    import click

    from .connector import Connector, DatedRecord, Outgoing, Page, PushResult
    from .daemon.handlers import WebhookHandler
    from .emulation import Emulator
    from .entities import StockLevel
    from .events import SyncEvent
    from .flows import Flow
    from .settings import SettingSpec

PROJECT = "tillbridge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- registration -------------------------------------------------------------------------------
@hookspec
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register connector classes.

    :param register: call ``register(MyConnector)`` once per class; a second class with the same
        ``system`` name is refused with an error naming both plugins.
    """


@hookspec
def register_emulators(register: Callable[[type[Emulator]], None]) -> None:
    """Register emulators of remote APIs (ASGI apps) for demos, tests and ``sandbox serve``.

    :param register: call ``register(MyEmulator)`` once per class (unique ``name``).
    """


@hookspec
def register_flows(register: Callable[[Flow], None]) -> None:
    """Register flows: what moves from which role's system to which, under which switch.

    :param register: call ``register(Flow(...))``; flow names are unique.
    """


@hookspec
def register_settings(register: Callable[[SettingSpec], None]) -> None:
    """Register per-connection settings (name, type, default, help, validation).

    A setting naming something in one of the connection's systems gives its ``role`` and a
    ``check(connector, value)``: the core calls it with a connector of that system whenever the
    setting is saved, and saves what it returns; a :class:`~tillbridge.errors.SettingError` it
    raises refuses the change. ``choices_from`` (an entity type) makes the console offer that
    system's names. See :class:`~tillbridge.settings.SettingSpec`.

    :param register: call ``register(SettingSpec(...))``; setting names are unique.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``tillbridge`` CLI.

    :param cli: the root group; use ``cli.add_command(...)`` or ``@cli.command()``.
    """


@hookspec
def complete_settings(
    connection: str, before: Mapping[str, Any], changes: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """Complete a change of a connection's settings before it is saved.

    Fans out. Every settings write goes through here (``tillbridge settings set``, the web
    console, plugins' own commands, any code calling :meth:`tillbridge.app.App.set_settings`),
    so a plugin can keep related settings consistent whatever path changed them: e.g. when its
    switch turns on, record the moment it did. Return more values to save with the change
    (parsed like user input; a name the change already carries is not overridden), or ``None``.
    Raise :class:`~tillbridge.errors.SettingError` to refuse the change (its message and fix are
    shown to the user); any other exception is logged and the plugin reported broken.

    :param connection: connection name.
    :param before: the connection's full settings before the change (defaults included).
    :param changes: the parsed values being set, by name.
    :return: extra ``{name: value}`` to save with the change, or ``None``.
    """


# --- data plane ---------------------------------------------------------------------------------
@hookspec(firstresult=True)
def fetch_entities(
    connector: Connector, entity_type: str, cursor: str | None, since: datetime | None
) -> Page | None:
    """Fetch the next page of ``entity_type`` from ``connector``'s system.

    Stops at the first non-``None`` result. The core default (``trylast``) calls
    ``connector.fetch``; implement this only to intercept (caching, filtering, another source).

    :param connector: the connector instance of one connection and system.
    :param entity_type: canonical type name (``"product"``, ``"sale"``...).
    :param cursor: the stored cursor (``None`` on a first run).
    :param since: when set, restart from this UTC date (re-imports) instead of ``cursor``.
    :return: a :class:`~tillbridge.connector.Page`, or ``None`` to let the next one answer.
    """


@hookspec(firstresult=True)
def push_entities(connector: Connector, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult] | None:
    """Write ``records`` to ``connector``'s system; one result per record, in order.

    Stops at the first non-``None`` result. The core default (``trylast``) calls
    ``connector.push``. Implementations must be idempotent.

    :param connector: the connector instance of the target system.
    :param entity_type: canonical type name of the records.
    :param records: the batch, references already rewritten to the target's ids.
    :return: a list of :class:`~tillbridge.connector.PushResult`, or ``None`` to pass.
    """


@hookspec(firstresult=True)
def map_location(connection: str, location_id: str, from_system: str, to_system: str) -> str | None:
    """Translate a location id of ``from_system`` into the matching one of ``to_system``.

    Stops at the first non-``None`` result. The core default (``trylast``) reads the
    outlet↔warehouse map the user set up (one-to-one).

    :param connection: connection name.
    :param location_id: an outlet or warehouse id in ``from_system``.
    :param from_system: system name the id belongs to (``"lightspeed"``).
    :param to_system: system name whose id is wanted (``"unleashed"``).
    :return: the other system's location id, or ``None`` when unmapped (the record is held).
    """


@hookspec(firstresult=True)
def compute_available(
    connector: Connector, levels: Sequence[StockLevel], include_assembled: bool
) -> list[StockLevel] | None:
    """Compute the quantity to publish as available for each stock level of ``connector``'s system.

    Stops at the first non-``None`` result. The core default (``trylast``) returns
    ``on_hand − allocated``. An inventory plugin that knows bills of materials adds what could
    be auto-assembled when ``include_assembled`` is true.

    :param connector: the connector instance of the system the levels came from.
    :param levels: stock levels, as fetched.
    :param include_assembled: the "include quantities for auto-assembled products" switch.
    :return: new levels with ``available`` set, or ``None`` to pass.
    """


@hookspec(firstresult=True)
def fetch_dated(
    connector: Connector, entity_type: str, start: datetime, end: datetime, references: Sequence[str]
) -> list[DatedRecord] | None:
    """The records of one trading day in ``connector``'s system, for the daily reconciliation.

    Stops at the first non-``None`` result. There is no core default: a system nobody answers
    for is shown as "cannot be checked". Read only what the day needs (a date-filtered list, a
    look-up by number), never the whole history: ``tillbridge reconcile`` runs on demand and
    its calls count against the vendor's budget.

    :param connector: the connector instance of one connection and system.
    :param entity_type: ``"sale"`` (POS: every sale dated in the window, closed or not),
        ``"sales_order"`` (inventory: the orders made from POS sales, by order date) or
        ``"invoice"`` (accounting: the invoices of the day's sales, whatever their date).
    :param start: start of the trading day, UTC (inclusive).
    :param end: end of the trading day, UTC (exclusive).
    :param references: the POS sale numbers of the day (empty when asking the POS); a system
        whose records are dated otherwise (an invoice dated when its order completed) looks
        these up instead of listing by date.
    :return: a list of :class:`~tillbridge.connector.DatedRecord`, or ``None`` to pass.
    """


# --- observers ----------------------------------------------------------------------------------
@hookspec
def on_sync_event(event: SyncEvent) -> None:
    """Observe what the engine does: runs started/finished, records written, held or failed.

    Fans out to every plugin. Must be quick and must not raise (an exception is logged and
    ignored so that an observer can never stop a sync).

    :param event: what happened (:class:`~tillbridge.events.SyncEvent`: kind, connection, flow,
        system, record key, details).
    """


# --- demo ---------------------------------------------------------------------------------------
@hookspec
def demo_scenario(emulators: Mapping[str, Emulator], stage: str) -> None:
    """Add a plugin's part of the story ``tillbridge demo`` tells, on its own emulators.

    Fans out. Stages, in order: ``"history"`` (only for ``demo --web`` and ``sandbox serve``:
    add a few past days of activity, e.g. till sales dated on each of the last three days, so
    "import sales since a date" and the daily reconciliation have something to show),
    ``"seeded"`` (emulators seeded, nothing synced yet) and ``"imported"`` (the first sync ran;
    exports are about to be switched on). ``sandbox serve`` plays ``"history"`` only.

    :param emulators: running emulators by name (``"lightspeed"``, ``"unleashed"``...); a plugin
        acts only on its own and must tolerate the others being absent.
    :param stage: which moment of the demo this is.
    """


# --- webhooks -----------------------------------------------------------------------------------
@hookspec
def register_webhook_handlers(register: Callable[[WebhookHandler], None]) -> None:
    """Register how a connector's vendor delivers webhooks, for ``tillbridge run``.

    Fans out. A connector plugin registers one
    :class:`~tillbridge.daemon.handlers.WebhookHandler` per system it owns; the daemon serves
    ``POST /webhooks/{system}/{connection}`` and asks the handler to verify each delivery's
    signature (``verify``), to name its events and de-duplication key (``parse``), and which
    flows an event affects (``event_flows``). The daemon de-duplicates deliveries and triggers
    those flows at once (debounced); it never takes data from a webhook, so polling stays the
    source of truth. ``tillbridge webhooks register`` calls the handler's ``subscribe`` with the
    connection's live connector.

    :param register: call ``register(MyHandler())``; a second handler for the same ``system``
        is refused with an error naming it.
    """
