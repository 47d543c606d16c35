"""A retailer whose books are kept in an accounting provider, all on emulators.

Lightspeed (till) → Unleashed (orders, invoices) → Xero or QuickBooks Online, connected as
``shop``. Emulators run at real time (time scale 1) because "only invoices made after enabling"
compares the inventory's invoice dates with our clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import httpx
from cryptography.fernet import Fernet

from tillbridge import services
from tillbridge.app import App
from tillbridge.emulation import BackgroundServer, Emulator
from tillbridge.plugins import Plugins
from tillbridge.runner import RunResult
from tillbridge.storage.models import LogEntry, Outbox
from tillbridge_accounting import services as accounting
from tillbridge_accounting.emulator import QuickBooksEmulator, XeroEmulator
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_unleashed.emulator import UnleashedEmulator
from sqlmodel import select

KEY = Fernet.generate_key()
NAME = "shop"
TransportFactory = Callable[[str, str], httpx.BaseTransport | None]


@dataclass
class Books:
    database_url: str
    ls: LightspeedEmulator
    ul: UnleashedEmulator
    books: Emulator
    servers: list[BackgroundServer]
    transport_factory: TransportFactory | None = None
    #: Plugins every (re)started app registers besides the installed ones: ``(name, plugin)``.
    extra_plugins: list[tuple[str, object]] = field(default_factory=list)
    app: App = field(init=False)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def __post_init__(self) -> None:
        self.app = self.open_app()

    # --- the process ----------------------------------------------------------------------------
    def open_app(self) -> App:
        return App(self.database_url, plugins=Plugins(extra=self.extra_plugins), secret_key=KEY,
                   transport_factory=self.transport_factory)

    def restart(self) -> None:
        """What a new process sees: a fresh app (no caches, no runtimes) on the same database."""
        try:
            self.app.close()
        except Exception:  # a "killed" process may leave its pool half used
            pass
        self.app = self.open_app()

    @property
    def conn_id(self) -> int:
        return self.app.store.connection(NAME).id or 0

    def sync(self, *flows: str) -> dict[str, RunResult]:
        return {r.flow: r for r in services.sync_once(self.app, NAME, only=flows or None)}

    def settings(self, **values: Any) -> None:
        self.app.set_settings(self.app.store.connection(NAME), dict(values))

    # --- the till ---------------------------------------------------------------------------------
    def products(self) -> list[dict[str, Any]]:
        """Lightspeed products that exist in Unleashed (the discount product does not)."""
        return [p for p in self.ls.products()
                if p.get("has_inventory", True) and self.ul.product_by_code(p.get("sku") or "")]

    def sell(self, count: int, *, discount_every: int = 4, walk_in_every: int = 3) -> list[dict[str, Any]]:
        outlet = next(iter(self.app.store.location_map(self.conn_id)))
        products = self.products()
        customers = self.ls.customers()
        sales = []
        for i in range(count):
            lines = [{"product_id": self.rng.choice(products)["id"], "quantity": self.rng.randint(1, 3)}
                     for _ in range(self.rng.randint(1, 3))]
            sales.append(self.ls.ring_up_sale(
                outlet, lines,
                customer_id=None if i % walk_in_every == 0 else self.rng.choice(customers)["id"],
                discount_total=Decimal("2.50") if discount_every and i % discount_every == 1 else None))
        return sales

    # --- reading back -------------------------------------------------------------------------------
    def ul_invoices(self) -> dict[str, dict[str, Any]]:
        return {i["InvoiceNumber"]: i for i in self.ul.invoices()}

    def provider_invoices(self) -> list[dict[str, Any]]:
        """Invoices tillbridge made in the provider (Xero: by this app; QuickBooks: all)."""
        if isinstance(self.books, XeroEmulator):
            return [i for i in self.books.invoices() if i["SourceApp"] == self.books.settings.client_id]
        return self.books.invoices()

    def log(self, **filters: Any) -> list[LogEntry]:
        return self.app.store.log_entries(self.conn_id, limit=10_000, **filters)

    def outbox(self) -> list[Outbox]:
        with self.app.store.session() as s:
            return list(s.exec(select(Outbox).where(Outbox.connection_id == self.conn_id)))

    def stop(self) -> None:
        self.app.close()
        for server in self.servers:
            server.stop()
        for emulator in (self.ls, self.ul, self.books):
            close = getattr(emulator, "close", None)
            if callable(close):
                close()


def open_books(database_url: str, *, provider: str = "xero", provider_options: dict[str, Any] | None = None,
               transport_factory: TransportFactory | None = None, enable: bool = True, seed: int = 11,
               extra_plugins: list[tuple[str, object]] | None = None) -> Books:
    """Start the three emulators, connect them as ``shop``, import products and customers,
    stock every warehouse, connect the provider and (by default) enable accounting invoices."""
    ls = LightspeedEmulator(seed=seed, time_scale=1.0, options={"products": 24, "customers": 8})
    ul = UnleashedEmulator(seed=seed, time_scale=1.0)
    books_cls = XeroEmulator if provider == "xero" else QuickBooksEmulator
    options = dict(provider_options or {})
    if provider == "quickbooks":
        # The Unleashed demo taxes are NZ GST (15 %): give the company a 15 % code and rate too.
        options.setdefault("tax_codes", [{"Id": "12", "Name": "GST15", "Description": "GST 15 %", "Active": True,
                                          "Taxable": True, "TaxGroup": False, "Hidden": False,
                                          "SalesTaxRateList": {"TaxRateDetail": [
                                              {"TaxRateRef": {"value": "3", "name": "GST 15 (sales)"},
                                               "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}]},
                                          "PurchaseTaxRateList": {"TaxRateDetail": []}}])
        options.setdefault("tax_rates", [{"Id": "3", "Name": "GST 15 (sales)", "RateValue": Decimal("15"),
                                          "Active": True, "AgencyRef": {"value": "1"}, "SpecialTaxType": "NONE",
                                          "DisplayType": "ReadOnly"}])
    books = books_cls(seed=seed, options=options)
    servers = [BackgroundServer(e).start() for e in (ls, ul, books)]
    result = Books(database_url, ls, ul, books, servers, transport_factory, list(extra_plugins or []))
    app = result.app
    services.add_connection(app, NAME, {"pos": ("lightspeed", servers[0].url), "inventory": ("unleashed",
                                                                                              servers[1].url)})
    app.store.save_credentials(result.conn_id, "lightspeed",
                               {"personal_token": ls.credentials(servers[0].url)["personal_token"]})
    creds = ul.credentials(servers[1].url)
    app.store.save_credentials(result.conn_id, "unleashed", {"api_id": creds["api_id"], "api_key": creds["api_key"]})
    services.reload_locations(app, NAME)
    outlets = app.store.known_locations(result.conn_id, "outlet")
    warehouses = app.store.known_locations(result.conn_id, "warehouse")
    app.store.map_location(result.conn_id, outlets[0].location_id, warehouses[0].location_id)
    result.sync("products", "customers")
    for product in ul.products():
        ul.receive_stock(product["Guid"], warehouses[0].location_id, Decimal(100_000))
    accounting.attach_emulator(app, NAME, books, servers[2].url)
    if enable:
        accounting.enable(app, NAME)
    return result
