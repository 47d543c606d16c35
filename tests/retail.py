"""A retailer on emulators, for tests: a Lightspeed store and an Unleashed account connected as ``shop``."""

from __future__ import annotations

from dataclasses import dataclass

from tillbridge import services
from tillbridge.app import App
from tillbridge.emulation import BackgroundServer
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_unleashed.emulator import UnleashedEmulator


@dataclass
class Retailer:
    """A Lightspeed store and an Unleashed account on emulators, connected as ``shop``."""

    app: App
    ls: LightspeedEmulator
    ul: UnleashedEmulator
    ls_url: str
    ul_url: str
    name: str = "shop"

    def sync(self, *flows: str):  # type: ignore[no-untyped-def]
        return {r.flow: r for r in services.sync_once(self.app, self.name, only=flows or None)}

    def settings(self, **values: object) -> None:
        self.app.set_settings(self.app.store.connection(self.name), dict(values))

    def map_all(self) -> None:
        services.reload_locations(self.app, self.name)
        rt = self.app.runtime(self.name)
        outlets = self.app.store.known_locations(rt.id, "outlet")
        warehouses = self.app.store.known_locations(rt.id, "warehouse")
        for outlet, warehouse in zip(outlets, warehouses):
            self.app.store.map_location(rt.id, outlet.location_id, warehouse.location_id)


def start_retailer(app: App, *, ls_options: dict | None = None, ul_options: dict | None = None,
                   ls_faults: dict | None = None, ul_faults: dict | None = None, seed: int = 3,
                   time_scale: float = 60.0) -> tuple[Retailer, list[BackgroundServer]]:
    ls = LightspeedEmulator(seed=seed, time_scale=time_scale, faults=ls_faults,
                            options={"products": 40, "customers": 10, **(ls_options or {})})
    ul = UnleashedEmulator(seed=seed, time_scale=time_scale, faults=ul_faults, options=ul_options or {})
    servers = [BackgroundServer(ls).start(), BackgroundServer(ul).start()]
    ls_url, ul_url = servers[0].url, servers[1].url
    services.add_connection(app, "shop", {"pos": ("lightspeed", ls_url), "inventory": ("unleashed", ul_url)})
    app.store.save_credentials(app.store.connection("shop").id, "lightspeed",
                               {"personal_token": ls.credentials(ls_url)["personal_token"]})
    ul_creds = ul.credentials(ul_url)
    app.store.save_credentials(app.store.connection("shop").id, "unleashed",
                               {"api_id": ul_creds["api_id"], "api_key": ul_creds["api_key"]})
    return Retailer(app, ls, ul, ls_url, ul_url), servers


