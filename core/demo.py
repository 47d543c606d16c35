"""``tillbridge demo``: a whole retailer on emulators, synced end to end, in one command.

Vendor-free: it picks, for each role, an installed connector that names an emulator, starts the
emulators on loopback, lets plugins seed their part of the story (``demo_scenario``), and runs
the same services the CLI and daemon use.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from .app import App
from .connector import Connector
from .emulation import BackgroundServer, Emulator
from .entities import Product
from .errors import ConfigError
from .runner import RunResult
from . import services

DEMO_CONNECTION = "demo"
DEMO_ROLES = ("pos", "inventory")
OPTIONAL_ROLES = ("accounting",)  # joined when an installed plugin brings an emulator for it
EXTRA_SETTINGS = {"include_assembled": True}


@dataclass
class DemoReport:
    database_url: str
    systems: dict[str, str]
    emulator_urls: dict[str, str]
    phases: list[tuple[str, list[RunResult]]] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    api_routes: dict[str, dict[str, int]] = field(default_factory=dict)
    flow_descriptions: dict[str, str] = field(default_factory=dict)
    #: (phase, flow, status, one sentence saying what the run did)
    sentences: list[tuple[str, str, str, str]] = field(default_factory=list)
    outlets: int = 0
    warehouses: int = 0
    mapped: int = 0
    products_source: int = 0
    products_matching: int = 0
    refused: list[str] = field(default_factory=list)
    open_failures: int = 0

    @property
    def ok(self) -> bool:
        return self.products_source > 0 and self.products_matching + len(self.refused) == self.products_source


def pick_connectors(app: App) -> dict[str, type[Connector]]:
    emulators = app.registries.emulators
    chosen: dict[str, type[Connector]] = {}
    for role in DEMO_ROLES + OPTIONAL_ROLES:
        for cls in app.registries.connectors.values():
            if role in cls.roles and cls.emulator in emulators:
                chosen[role] = cls
                break
        else:
            if role in DEMO_ROLES:
                raise ConfigError(f"no installed connector with an emulator can be the {role} system",
                                  fix="install tillbridge with its built-in plugins (pip install .)")
    return chosen


def switches_to_turn_on(app: App, roles: set[str]) -> dict[str, object]:
    """Every flow switch whose flow the demo connection can run (exports, accounting...)."""
    values: dict[str, object] = {flow.switch: True for flow in app.flows().values()
                                 if flow.switch and {flow.source_role, flow.target_role} <= roles}
    values.update({k: v for k, v in EXTRA_SETTINGS.items() if k in app.registries.settings})
    return values


def run_demo(
    *,
    database: str | None = None,
    fresh: bool = False,
    seed: int = 7,
    products: int = 300,
    time_scale: float = 60.0,
    progress: Callable[[str, int], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    keep_running: Callable[[App, dict[str, str]], None] | None = None,
    create_database: bool = True,
    history: bool = False,
) -> DemoReport:
    """Run the demo. ``history``: first let plugins add a few past days of till sales (stage
    ``"history"``), for a console that shows imports since a date and daily reconciliations."""
    with ExitStack() as stack:
        if fresh:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="tillbridge-demo-"))
            database = f"sqlite:///{Path(tmp) / 'demo.sqlite'}"
        app = App(database, create_database=create_database or fresh)
        stack.callback(app.close)
        chosen = pick_connectors(app)
        emulators: dict[str, Emulator] = {}
        urls: dict[str, str] = {}
        for role, cls in chosen.items():
            assert cls.emulator is not None
            options = {"products": products} if role == "pos" else {}
            # Time runs 60x faster in the demo's emulators, so rate-limit windows (Lightspeed's
            # 5 minutes) pass in seconds; the client paces itself exactly as it would live.
            emulator = app.registries.emulators[cls.emulator](seed=seed, options=options, time_scale=time_scale)
            server = stack.enter_context(BackgroundServer(emulator))
            emulators[cls.emulator] = emulator
            urls[cls.emulator] = server.url
        if history:
            app.plugins.demo_scenario(emulators, "history")
        app.plugins.demo_scenario(emulators, "seeded")

        app.store.delete_connection(DEMO_CONNECTION)  # every demo starts from a clean slate
        services.add_connection(app, DEMO_CONNECTION,
                                {role: (cls.system, urls[cls.emulator or ""]) for role, cls in chosen.items()})
        for role, cls in chosen.items():
            emulator = emulators[cls.emulator or ""]
            creds = cls.emulator_credentials(emulator, urls[cls.emulator or ""])
            services.save_credentials(app, DEMO_CONNECTION, cls.system, creds)

        report = DemoReport(app.database_url, {r: c.system for r, c in chosen.items()}, urls)
        report.flow_descriptions = {name: flow.description for name, flow in app.flows().items()}
        counts = services.reload_locations(app, DEMO_CONNECTION)
        report.outlets, report.warehouses = counts.outlets, counts.warehouses
        rt = app.runtime(DEMO_CONNECTION)
        outlets = app.store.known_locations(rt.id, "outlet")
        warehouses = app.store.known_locations(rt.id, "warehouse")
        for outlet, warehouse in zip(outlets, warehouses):
            app.store.map_location(rt.id, outlet.location_id, warehouse.location_id)
            report.mapped += 1

        if on_phase:
            on_phase("Importing products, customers and sales into the inventory system")
        report.phases.append(("import", services.sync_once(app, DEMO_CONNECTION, progress=progress)))
        app.plugins.demo_scenario(emulators, "imported")
        conn = app.store.connection(DEMO_CONNECTION)
        switches = switches_to_turn_on(app, set(chosen))
        app.set_settings(conn, switches)
        if on_phase:
            on_phase("Switched on: " + ", ".join(sorted(k for k in switches if k != "include_assembled"))
                     + " (stock, products and customers back to the POS"
                     + (", invoices to accounting)" if "accounting" in chosen else ")"))
        report.phases.append(("export", services.sync_once(app, DEMO_CONNECTION, progress=progress)))

        report.sentences = [(phase, r.flow, r.status, services.describe(app, DEMO_CONNECTION, r))
                            for phase, results in report.phases for r in results]
        _verify_products(app, report)
        report.api_calls = {name: emu.stats.total for name, emu in emulators.items()}
        report.api_routes = {name: dict(emu.stats.by_route) for name, emu in emulators.items()}
        report.open_failures = len(app.store.log_entries(rt.id, open_only=True, limit=10_000))
        if keep_running:
            keep_running(app, urls)
        return report


def _all(connector: Connector, entity_type: str) -> list[Any]:
    records: list[Any] = []
    cursor = None
    while True:
        page = connector.fetch(entity_type, cursor)
        records.extend(page.records)
        cursor = page.cursor
        if not page.more:
            return records


def _verify_products(app: App, report: DemoReport) -> None:
    """Compare both sides through the connectors: same code, description and price."""
    rt = app.runtime(DEMO_CONNECTION)
    pos: list[Product] = [p for p in _all(rt.connector("pos"), "product") if not p.obsolete]
    inventory = {p.code: p for p in _all(rt.connector("inventory"), "product")}
    report.products_source = len(pos)
    failed_keys = {e.record_key for e in app.store.log_entries(rt.id, open_only=True, entity_type="product",
                                                               limit=10_000)}
    for product in pos:
        twin = inventory.get(product.code)
        if twin and twin.description == product.description and _same_price(twin.sell_price, product.sell_price):
            report.products_matching += 1
        elif product.code in failed_keys:
            report.refused.append(product.code)


def _same_price(a: Decimal | None, b: Decimal | None) -> bool:
    return (a or Decimal(0)).quantize(Decimal("0.01")) == (b or Decimal(0)).quantize(Decimal("0.01"))
