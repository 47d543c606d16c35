"""A retailer on the emulators for the flow tests: Lightspeed + Unleashed connected as ``shop``.

Unlike the shared ``retailer`` fixture it maps outlets to warehouses by name, so a test says
which outlet stays unmapped, and it carries small helpers to ring up sales and read the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cryptography.fernet import Fernet

from tillbridge import services
from tillbridge.app import App
from tillbridge.emulation import BackgroundServer
from tillbridge.plugins import Plugins
from tillbridge.runner import RunResult
from tillbridge.storage.models import LogEntry
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_unleashed.emulator import UnleashedEmulator

KEY = Fernet.generate_key()
NAME = "shop"


@dataclass
class Shop:
    app: App
    ls: LightspeedEmulator
    ul: UnleashedEmulator
    ls_url: str
    ul_url: str
    servers: list[BackgroundServer] = field(default_factory=list)
    name: str = NAME

    # --- running ---------------------------------------------------------------------------------
    def sync(self, *flows: str) -> dict[str, RunResult]:
        return {r.flow: r for r in services.sync_once(self.app, self.name, only=flows or None)}

    def settings(self, **values: object) -> None:
        services.set_settings(self.app, self.name, dict(values))

    @property
    def conn_id(self) -> int:
        return self.app.store.connection(self.name).id or 0

    # --- locations --------------------------------------------------------------------------------
    def outlet(self, index: int) -> dict[str, Any]:
        return self.ls.outlets()[index]

    def warehouse(self, code: str) -> dict[str, Any]:
        return next(w for w in self.ul.warehouses() if w["WarehouseCode"] == code)

    def map(self, pairs: dict[int, str]) -> None:
        """Map outlet number → warehouse code (after loading both)."""
        services.reload_locations(self.app, self.name)
        for index, code in pairs.items():
            services.map_outlet(self.app, self.name, self.outlet(index)["id"], code)

    # --- the till ----------------------------------------------------------------------------------
    def pos_products(self) -> list[dict[str, Any]]:
        """Every Lightspeed product but the system discount product."""
        return [p for p in self.ls.products() if p["sku"] != "vend-discount"]

    def sellable(self) -> list[dict[str, Any]]:
        """Products whose stock Lightspeed tracks."""
        return [p for p in self.pos_products() if p.get("has_inventory", True)]

    def sell(self, outlet: int, lines: list[tuple[dict[str, Any], int]], **kwargs: Any) -> dict[str, Any]:
        return self.ls.ring_up_sale(
            self.outlet(outlet)["id"],
            [{"product_id": p["id"], "quantity": Decimal(q)} for p, q in lines], **kwargs)

    # --- reading back -------------------------------------------------------------------------------
    def order_for(self, sale: dict[str, Any]) -> dict[str, Any] | None:
        return next((o for o in self.ul.sales_orders() if o["CustomerRef"] == sale["invoice_number"]), None)

    def log(self, **filters: Any) -> list[LogEntry]:
        return self.app.store.log_entries(self.conn_id, limit=10_000, **filters)

    def open_entries(self) -> list[LogEntry]:
        return self.log(open_only=True)

    def ls_product_by_ul(self, ul_code: str) -> dict[str, Any] | None:
        return self.ls.product_by_sku("".join(ul_code.split()))

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for emulator in (self.ls, self.ul):
            emulator.close()
        self.app.close()


def open_shop(database_url: str, *, ls_options: dict[str, Any] | None = None,
              ul_options: dict[str, Any] | None = None, seed: int = 5, time_scale: float = 60.0) -> Shop:
    """Start both emulators and connect them as ``shop`` (credentials saved without a check)."""
    ls = LightspeedEmulator(seed=seed, time_scale=time_scale,
                            options={"products": 30, "customers": 8, **(ls_options or {})})
    ul = UnleashedEmulator(seed=seed, time_scale=time_scale, options=ul_options or {})
    servers = [BackgroundServer(ls).start(), BackgroundServer(ul).start()]
    app = App(database_url, plugins=Plugins(), secret_key=KEY)
    ls_url, ul_url = servers[0].url, servers[1].url
    services.add_connection(app, NAME, {"pos": ("lightspeed", ls_url), "inventory": ("unleashed", ul_url)})
    conn = app.store.connection(NAME).id or 0
    app.store.save_credentials(conn, "lightspeed", {"personal_token": ls.credentials(ls_url)["personal_token"]})
    creds = ul.credentials(ul_url)
    app.store.save_credentials(conn, "unleashed", {"api_id": creds["api_id"], "api_key": creds["api_key"]})
    return Shop(app, ls, ul, ls_url, ul_url, servers)
