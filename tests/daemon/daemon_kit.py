"""Daemon test kit: shops on emulators, a database prepared for them, the daemon as a subprocess.

The daemon runs exactly as in production (``python -m tillbridge.daemon``), against a SQLite
file the test prepared, talking to emulators the test serves on loopback. Emulated time runs
fast (``TIME_SCALE``), so rate-limit windows and token lifetimes pass in seconds.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import httpx
from cryptography.fernet import Fernet

from tillbridge import services
from tillbridge.app import App
from tillbridge.emulation import BackgroundServer
from tillbridge.plugins import Plugins
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_unleashed.emulator import UnleashedEmulator

TIME_SCALE = 60.0
#: The daemon under test loads only the plugins these tests are about.
PLUGINS = "lightspeed,unleashed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"not reached in {timeout:.0f}s: {what} (last: {last!r})")


@dataclass
class Shop:
    """A Lightspeed store and an Unleashed account, served on loopback."""

    name: str
    ls: LightspeedEmulator
    ul: UnleashedEmulator
    servers: list[BackgroundServer] = field(default_factory=list)

    @property
    def ls_url(self) -> str:
        return self.servers[0].url

    @property
    def ul_url(self) -> str:
        return self.servers[1].url

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.ls.close()
        self.ul.close()

    # --- what the tests look at -------------------------------------------------------------------
    def closed_sales(self) -> list[dict[str, Any]]:
        return [s for s in self.ls.sales() if s["status"] == "CLOSED" and not s.get("return_for")]

    def order_refs(self) -> list[str]:
        return [o["CustomerRef"] for o in self.ul.sales_orders()]

    def missing_orders(self) -> list[str]:
        refs = set(self.order_refs())
        return [s["invoice_number"] for s in self.closed_sales() if s["invoice_number"] not in refs]


def start_shop(name: str, *, seed: int = 3, products: int = 30, time_scale: float = TIME_SCALE) -> Shop:
    ls = LightspeedEmulator(seed=seed, time_scale=time_scale, options={"products": products, "customers": 8})
    ul = UnleashedEmulator(seed=seed, time_scale=time_scale)
    shop = Shop(name, ls, ul)
    shop.servers = [BackgroundServer(ls).start(), BackgroundServer(ul).start()]
    return shop


def prepare_database(path: Path | str, key: bytes, shops: list[Shop], *, oauth: set[str] = frozenset(),
                     **settings: Any) -> str:
    """A database with one connection per shop: credentials, every outlet mapped, ``settings``.

    ``path``: a SQLite file, or a database URL (a PostgreSQL test database).

    Lightspeed credentials carry the app's client secret (it signs webhooks); shops named in
    ``oauth`` use an OAuth token pair instead of the personal token (so it can be revoked).
    """
    # These shops get their Unleashed stock from the test (stock_baseline), not from an opening
    # stock that would race with it; a test that wants the opening stock says so.
    settings = {"import_opening_stock": False, **settings}
    url = path if isinstance(path, str) and "://" in path else f"sqlite:///{path}"
    app = App(url, plugins=Plugins(), secret_key=key)
    try:
        for shop in shops:
            services.add_connection(app, shop.name, {"pos": ("lightspeed", shop.ls_url),
                                                     "inventory": ("unleashed", shop.ul_url)})
            cid = app.store.connection(shop.name).id or 0
            app.store.save_credentials(cid, "lightspeed", lightspeed_credentials(shop, oauth=shop.name in oauth))
            ul = shop.ul.credentials(shop.ul_url)
            app.store.save_credentials(cid, "unleashed", {"api_id": ul["api_id"], "api_key": ul["api_key"]})
            services.reload_locations(app, shop.name)
            outlets = sorted(app.store.known_locations(cid, "outlet"), key=lambda loc: loc.name)
            warehouses = sorted(app.store.known_locations(cid, "warehouse"), key=lambda loc: loc.code or "")
            for outlet, warehouse in zip(outlets, warehouses):
                app.store.map_location(cid, outlet.location_id, warehouse.location_id)
            if settings:
                app.set_settings(app.store.connection(shop.name), settings)
    finally:
        app.close()
    return url


def lightspeed_credentials(shop: Shop, *, oauth: bool = False) -> dict[str, Any]:
    offered = shop.ls.credentials(shop.ls_url)
    values = {"client_id": offered["client_id"], "client_secret": offered["client_secret"],
              "domain_prefix": offered["domain_prefix"]}
    if oauth:
        token = shop.ls.issue_token()
        values.update(access_token=token["access_token"], refresh_token=token["refresh_token"])
    else:
        values["personal_token"] = offered["personal_token"]
    return values


def save_credentials(url: str, key: bytes, connection: str, system: str, values: dict[str, Any]) -> None:
    """Write credentials as `tillbridge connect` would, from another process's point of view."""
    app = App(url, plugins=Plugins(), secret_key=key)
    try:
        app.store.save_credentials(app.store.connection(connection).id or 0, system, values)
    finally:
        app.close()


def stock_baseline(shop: Shop, quantity: int = 500) -> None:
    """Plenty of stock of every Lightspeed product in every warehouse of Unleashed, once the
    products are imported, so orders always complete (no timing-dependent parking)."""
    codes = {p["sku"] for p in shop.ls.products() if p.get("has_inventory", True)}
    for product in shop.ul.products():
        if product["ProductCode"] in codes:
            for warehouse in shop.ul.warehouses():
                shop.ul.receive_stock(product["Guid"], warehouse["Guid"], Decimal(quantity))


def location_map(url: str, key: bytes, connection: str) -> dict[str, str]:
    """The connection's outlet → warehouse mapping (ids)."""
    app = App(url, plugins=Plugins(), secret_key=key)
    try:
        return app.store.location_map(app.store.connection(connection).id or 0)
    finally:
        app.close()


def stock_pairs(shop: Shop, url: str, key: bytes, connection: str,
                mapping: dict[str, str] | None = None) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(code, outlet name) → (Lightspeed level, Unleashed available) for every mapped pair of a
    product both systems hold (``mapping``: the connection's, when already read)."""
    if mapping is None:
        mapping = location_map(url, key, connection)
    outlets = {o["id"]: o["name"] for o in shop.ls.outlets()}
    out: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for product in shop.ls.products():
        if not product.get("has_inventory", True):
            continue
        twin = shop.ul.product_by_code(product["sku"])
        if twin is None:
            continue
        for outlet_id, warehouse_id in mapping.items():
            level = shop.ls.inventory_level(product["id"], outlet_id)
            available = shop.ul.stock_on_hand(twin["Guid"], warehouse_id)["AvailableQty"]
            out[(product["sku"], outlets[outlet_id])] = (level, available)
    return out


_RUNNING: list["DaemonProcess"] = []


@atexit.register
def _no_orphans() -> None:
    """A test that dies half-way must not leave its daemons running."""
    for daemon in _RUNNING:
        daemon.kill()


class DaemonProcess:
    """``python -m tillbridge.daemon`` with JSON logs to a file; stopped by the test."""

    def __init__(self, url: str, key: bytes, port: int, log_path: Path, *extra: str) -> None:
        self.url, self.key, self.port, self.log_path = url, key, port, log_path
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DaemonProcess":
        env = {**os.environ, "TILLBRIDGE_SECRET_KEY": self.key.decode(), "TILLBRIDGE_LOAD_PLUGINS": PLUGINS,
               "PYTHONUNBUFFERED": "1"}
        env.pop("TILLBRIDGE_DATABASE_URL", None)
        args = [sys.executable, "-m", "tillbridge.daemon", "--database-url", self.url,
                "--listen", f"127.0.0.1:{self.port}", "--log-format", "json", "--webhook-max-age", "0",
                "--reconcile", "1", *self.extra]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        self.starts += 1
        if self not in _RUNNING:
            _RUNNING.append(self)
        return self

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            assert self.proc is not None and self.proc.poll() is None, f"daemon exited: {self.tail()}"
            try:
                return httpx.get(self.base + "/healthz", timeout=2).json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                return None

        return eventually(ready, timeout, 0.05, "daemon listening")  # type: ignore[no-any-return]

    def healthz(self) -> dict[str, Any]:
        return httpx.get(self.base + "/healthz", timeout=5).json()  # type: ignore[no-any-return]

    def metrics(self) -> str:
        return httpx.get(self.base + "/metrics", timeout=5).text

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                lines.append({"level": "raw", "message": raw})
        return lines

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:]) if self.log_path.exists() else ""


def register_webhooks(url: str, key: bytes, connection: str, base: str) -> str:
    """``tillbridge webhooks register`` as an operator runs it (a subprocess)."""
    env = {**os.environ, "TILLBRIDGE_SECRET_KEY": key.decode(), "TILLBRIDGE_LOAD_PLUGINS": PLUGINS}
    done = subprocess.run([str(Path(sys.executable).parent / "tillbridge"), "--database-url", url, "webhooks", "register",
                           "--connection", connection, "--url", base],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def subscribe(url: str, key: bytes, connection: str, base: str) -> None:
    """What ``webhooks register`` does, in-process (quicker than a CLI subprocess)."""
    from tillbridge.daemon.webhooks import webhook_path

    app = App(url, plugins=Plugins(), secret_key=key)
    try:
        handlers = app.plugins.webhook_handlers()
        rt = app.runtime(connection)
        for role, ref in rt.systems.items():
            handlers[ref.system].subscribe(rt.connector(role), base + webhook_path(ref.system, connection))
    finally:
        app.close()


def new_key() -> bytes:
    return Fernet.generate_key()
