"""One way to build a connector: a sync, a credentials check, a settings probe and
``tillbridge.testing.build_connector`` hand a connector the same context fields."""

from __future__ import annotations

from typing import Any, Callable

import httpx
from cryptography.fernet import Fernet

from tillbridge import Connector, ConnectorContext, CredentialField, hookimpl, services
from tillbridge.app import App
from tillbridge.plugins import Plugins
from tillbridge.testing import build_connector

KEY = Fernet.generate_key()

SEEN: list[ConnectorContext] = []


class Probe(Connector):
    system = "probe"
    display_name = "Probe"
    roles = frozenset({"inventory"})
    default_base_url = "http://probe.test"
    credential_fields = (CredentialField("key", "Key", secret=True),)

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        SEEN.append(context)

    def check(self) -> str:
        self.http.get("/ping").raise_for_status()
        return "probe ok"


class ProbePlugin:
    @hookimpl
    def register_connectors(self, register: Callable[[type[Connector]], None]) -> None:
        register(Probe)


def _transport(system: str, base_url: str) -> httpx.BaseTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json={}))


def _fields(context: ConnectorContext) -> dict[str, Any]:
    return {"connection": context.connection, "system": context.system, "base_url": context.base_url,
            "credentials": dict(context.credentials), "settings": dict(context.settings),
            "mapped": context.mapped_locations(), "peers": dict(context.peers)}


def test_every_entry_point_builds_the_same_context(tmp_path) -> None:  # type: ignore[no-untyped-def]
    SEEN.clear()
    app = App(f"sqlite:///{tmp_path / 'w.sqlite'}", plugins=Plugins(extra=[("probe", ProbePlugin())]),
              secret_key=KEY, transport_factory=_transport)
    try:
        services.add_connection(app, "shop", {"inventory": ("probe", None)})
        conn = app.store.connection("shop")
        app.store.replace_known_locations(conn.id or 0, "probe", "warehouse", [("w1", "Main", "M")])
        app.store.map_location(conn.id or 0, "o1", "w1")
        services.save_credentials(app, "shop", "probe", {"key": "k"})  # the credentials check
        rt = app.runtime("shop")
        synced = rt.connector("inventory")  # the sync's connector
        probe = services._probe_connector(app, rt, "inventory")
        probe.http.close()
        tested = build_connector(Probe, "http://probe.test", {"key": "k"}, connection="shop",
                                 settings=rt.settings, mapped_locations=rt.mapped_locations("inventory"),
                                 state=rt.connector("inventory").context.state, peers=rt.peer_names())
        tested.http.close()

        check, sync, quick, kit = SEEN
        assert _fields(sync)["mapped"] == {"w1"}
        assert _fields(sync)["peers"] == {"inventory": "probe"}  # no title: its system name
        assert _fields(check) == _fields(sync) == _fields(quick) == _fields(kit)
        # A sync, a probe and a test build have the connection's durable state; a credentials
        # check has none: its credentials are not the connection's yet (they are being replaced).
        assert sync.state is not None and quick.state is not None and kit.state is not None
        assert (sync.state.connection, sync.state.namespace) == ("shop", "probe")
        assert (quick.state.connection_id, quick.state.namespace) == (sync.state.connection_id, "probe")
        assert check.state is None
        assert sync.extras == quick.extras == check.extras == kit.extras == {}
        assert synced.context is sync
    finally:
        app.close()


def test_rotated_credentials_reach_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    SEEN.clear()
    app = App(f"sqlite:///{tmp_path / 'r.sqlite'}", plugins=Plugins(extra=[("probe", ProbePlugin())]),
              secret_key=KEY, transport_factory=_transport)
    try:
        services.add_connection(app, "shop", {"inventory": ("probe", None)})
        services.save_credentials(app, "shop", "probe", {"key": "old"}, check=False)
        connector = app.runtime("shop").connector("inventory")
        connector.context.save_credentials(connector.context.credentials | {"key": "new"})
        assert connector.context.credentials == {"key": "new"}
        assert app.store.credentials(app.store.connection("shop").id or 0, "probe") == {"key": "new"}
    finally:
        app.close()
