"""The administration API (``tillbridge.admin.Admin``) a plugin's commands use, on the emulators:
nothing here reaches into the app, its store or its runner."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Iterator

import pytest

from tillbridge import AuthError, ConfigError, TillbridgeError, UnknownConnection
from tillbridge.admin import Admin, RunResult
from tillbridge.testing import SystemUnderTest, start_emulated_system, temporary_app

NAME = "shop"


@pytest.fixture
def setup() -> Iterator[tuple[Admin, SystemUnderTest, SystemUnderTest]]:
    with temporary_app() as app, ExitStack() as stack:
        admin = Admin.of(app)
        pos = start_emulated_system(app, stack, admin.connector_class("lightspeed"), seed=7)
        inventory = start_emulated_system(app, stack, admin.connector_class("unleashed"), seed=7)
        yield admin, pos, inventory


def connected(admin: Admin, pos: SystemUnderTest, inventory: SystemUnderTest) -> Admin:
    admin.add_connection(NAME, {"pos": ("lightspeed", pos.base_url), "inventory": ("unleashed", inventory.base_url)})
    admin.save_credentials(NAME, "lightspeed", dict(pos.credentials))
    admin.save_credentials(NAME, "unleashed", dict(inventory.credentials))
    return admin


def test_a_connection_is_added_and_credentials_are_saved_only_when_they_work(
        setup: tuple[Admin, SystemUnderTest, SystemUnderTest]) -> None:
    admin, pos, inventory = setup
    assert admin.find_connection(NAME) is None
    with pytest.raises(UnknownConnection):
        admin.connection(NAME)
    info = admin.add_connection(NAME, {"pos": ("lightspeed", pos.base_url),
                                       "inventory": ("unleashed", inventory.base_url)})
    assert admin.connection_names() == [NAME]
    assert (info.system_of("pos"), info.system_of("inventory"), info.system_of("accounting")) == (
        "lightspeed", "unleashed", None)
    assert info.base_url_of("inventory", "unleashed") == inventory.base_url
    assert info.base_url_of("inventory", "lightspeed") is None

    wrong = {**inventory.credentials, "api_key": "not-the-key"}
    with pytest.raises(AuthError) as refused:
        admin.save_credentials(NAME, "unleashed", wrong)
    assert "unleashed" in str(refused.value).lower() and "tillbridge connect unleashed" in (refused.value.fix or "")
    assert not admin.has_credentials(NAME, "unleashed")  # a refused check saves nothing

    description = admin.check_credentials(NAME, "unleashed", inventory.base_url, dict(inventory.credentials))
    assert description and not admin.has_credentials(NAME, "unleashed")  # a check alone saves nothing
    assert admin.save_credentials(NAME, "unleashed", dict(inventory.credentials)) == description
    assert admin.has_credentials(NAME, "unleashed") and not admin.has_credentials(NAME, "lightspeed")
    with pytest.raises(ConfigError, match="has no xero system"):
        admin.save_credentials(NAME, "xero", {"tenant_id": "t"}, check=False)


def test_settings_and_state_round_trip(setup: tuple[Admin, SystemUnderTest, SystemUnderTest]) -> None:
    admin, pos, inventory = setup
    admin.add_connection(NAME, {"pos": ("lightspeed", pos.base_url)})
    assert admin.settings(NAME)["default_customer"] == "WALKIN"  # the default
    saved = admin.set_settings(NAME, {"default_customer": "CASHSALE"})
    assert saved["default_customer"] == "CASHSALE"
    assert Admin.of(admin).settings(NAME)["default_customer"] == "CASHSALE"  # Admin.of(admin) is admin
    with pytest.raises(TillbridgeError):
        admin.set_settings(NAME, {"interval_sales": "soon"})
    assert admin.settings(NAME)["default_customer"] == "CASHSALE"

    mine = admin.state(NAME, "myplugin")
    mine.set("budget", {"left": 41})
    assert admin.state(NAME, "myplugin").get("budget") == {"left": 41}
    assert admin.state(NAME, "other").get("budget") is None  # namespaces never meet
    assert mine.settings()["default_customer"] == "CASHSALE"  # settings as stored right now
    admin.state(NAME, "lightspeed").set("seen", 1)
    assert admin.connector(NAME, "pos").context.state.get("seen") == 1  # the connector's own namespace


def test_a_connectors_state_rereads_the_stored_credentials(setup: tuple[Admin, SystemUnderTest, SystemUnderTest]) -> None:
    """What an OAuth refresh re-reads under its lock: the credentials as saved now, not the context's."""
    admin = connected(*setup)
    state = admin.connector(NAME, "inventory").context.state
    assert state is not None and state.credentials("unleashed")["api_id"] == setup[2].credentials["api_id"]
    assert state.credentials("xero") == {}
    admin.save_credentials(NAME, "unleashed", {**setup[2].credentials, "api_id": "rotated"}, check=False)
    assert state.credentials("unleashed")["api_id"] == "rotated"


def test_run_flow_writes_what_it_fetched_and_moves_the_cursor(
        setup: tuple[Admin, SystemUnderTest, SystemUnderTest]) -> None:
    admin = connected(*setup)
    before = {p.code for p in admin.read_all(NAME, "inventory", "product")}
    assert admin.cursor(NAME, "products") is None and admin.last_run(NAME, "products") is None
    result = admin.run_flow(NAME, "products", trigger="admin test")
    assert isinstance(result, RunResult)
    assert result.status == "ok" and result.failed == 0 and result.fetched > 0
    after = {p.code for p in admin.read_all(NAME, "inventory", "product")}
    assert len(after - before) == result.created > 0
    assert admin.last_run(NAME, "products")[0] == "ok"  # type: ignore[index]
    assert admin.cursor(NAME, "products") is not None
    again = admin.run_flow(NAME, "products")
    assert again.created == again.updated == 0
    admin.set_cursor(NAME, "products", None)
    assert admin.cursor(NAME, "products") is None
    assert admin.open_failures(NAME, flow="products") == 0
    with pytest.raises(ConfigError, match="no flow"):
        admin.run_flow(NAME, "nonsense")
