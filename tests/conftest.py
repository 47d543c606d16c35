"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a running retailer."""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
from cryptography.fernet import Fernet

from tillbridge.app import App
from tillbridge.plugins import Plugins

from retail import Retailer, start_retailer

PG_ENV = "TILLBRIDGE_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _cli_may_create_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests point the CLI at new files in tmp_path: let it create them, as ``--create-database``
    does (tests of the refusal itself unset this)."""
    monkeypatch.setenv("TILLBRIDGE_CREATE_DATABASE", "1")


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
        # Short HTTP backoff: injected faults retry quickly (the policy is the same, only faster).
        app = App(url or f"sqlite:///{tmp_path / 'app.sqlite'}", plugins=Plugins(), secret_key=KEY,
                  http_backoff=0.02)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.close()


KEY = Fernet.generate_key()


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
