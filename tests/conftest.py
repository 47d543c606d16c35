"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a running retailer."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Iterator

import pytest
from cryptography.fernet import Fernet

from tillbridge import services
from tillbridge.app import App
from tillbridge.emulation import BackgroundServer
from tillbridge.plugins import Plugins
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_unleashed.emulator import UnleashedEmulator

PG_ENV = "TILLBRIDGE_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("TILLBRIDGE_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} is not set but TILLBRIDGE_REQUIRE_POSTGRES is")
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards (runs never see each other)."""
    import sqlalchemy as sa

    admin = sa.create_engine(postgres_server_url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    name = f"tillbridge_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Run a test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    return request.getfixturevalue("postgres_url")  # type: ignore[no-any-return]


@pytest.fixture
def make_app(tmp_path) -> Iterator:  # type: ignore[no-untyped-def]
    apps: list[App] = []

    def make(url: str | None = None) -> App:
        app = App(url or f"sqlite:///{tmp_path / 'app.sqlite'}", plugins=Plugins(), secret_key=KEY)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


KEY = Fernet.generate_key()


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


@pytest.fixture
def retailer(make_app) -> Iterator[Retailer]:  # type: ignore[no-untyped-def]
    app = make_app()
    shop, servers = start_retailer(app)
    try:
        yield shop
    finally:
        for server in servers:
            server.stop()
        for emulator in (shop.ls, shop.ul):
            close = getattr(emulator, "close", None)
            if callable(close):
                close()
