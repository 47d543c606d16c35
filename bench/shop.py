"""The engine side of a benchmark: an app, one connection ``shop`` wired to the emulator host.

Everything here goes through tillbridge's public surface (``App``, ``services``), as an
administrator's commands would: connect both systems, reload outlets, map each outlet to a
warehouse, switch every flow on.
"""

from __future__ import annotations

import base64
import json
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, Sequence

import httpx
from cryptography.fernet import Fernet

from tillbridge import services
from tillbridge.app import App
from tillbridge.plugins import Plugins
from tillbridge.runner import RunResult

from emuhost import EmulatorHost

CONNECTION = "shop"
#: Switches that turn on every flow the core ships (the stock export, the exports to the POS).
# The benchmark receives its opening stock in Unleashed itself (``op_opening_stock``: one
# adjustment per warehouse), as a retailer whose Unleashed stock is already right: taken from the
# POS it would be one adjustment per product and warehouse (tests/flows/test_unleashed_first_day.py).
EVERY_FLOW = {"export_stock": True, "export_products": True, "export_customers": True,
              "import_opening_stock": False}


class RecordingTransport(httpx.BaseTransport):
    """Passes requests on; when ``sink`` is set, writes each one (method, URL, headers, body) as
    a JSON line, so a bare httpx loop can replay exactly the same requests later."""

    def __init__(self, inner: httpx.BaseTransport, system: str, recorder: "Recorder") -> None:
        self.inner = inner
        self.system = system
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sink = self.recorder.sink
        if sink is not None:
            line = json.dumps({
                "s": self.system, "m": request.method, "u": str(request.url),
                "h": [(k, v) for k, v in request.headers.items() if k.lower() not in {"content-length", "host"}],
                "b": base64.b64encode(request.content).decode("ascii") if request.content else "",
            })
            with self.recorder.lock:
                sink.write(line + "\n")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Recorder:
    """Where the taps write (``None``: not recording). Shared, because the app rebuilds its
    connectors (and so their transports) whenever settings change."""

    def __init__(self) -> None:
        self.sink: IO[str] | None = None
        self.lock = threading.Lock()


class Shop:
    """An app with the connection ``shop`` (Lightspeed POS + Unleashed inventory) on the host."""

    def __init__(self, host: EmulatorHost, workdir: Path | None = None) -> None:
        self.host = host
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="tillbridge-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        for old in self.workdir.glob("bench.sqlite*"):  # a rerun in the same --workdir starts afresh
            old.unlink()
        self.recorder = Recorder()

        def transport(system: str, base_url: str) -> httpx.BaseTransport:
            # One pool per system, as the app itself builds it; only the recording tap is added.
            return RecordingTransport(httpx.HTTPTransport(retries=0), system, self.recorder)

        self.app = App(f"sqlite:///{self.workdir / 'bench.sqlite'}", plugins=Plugins(),
                       secret_key=Fernet.generate_key(), transport_factory=transport)
        urls, creds = host.urls, host.credentials
        services.add_connection(self.app, CONNECTION, {"pos": ("lightspeed", urls["lightspeed"]),
                                                       "inventory": ("unleashed", urls["unleashed"])})
        conn = self.app.store.connection(CONNECTION)
        self.app.store.save_credentials(conn.id or 0, "lightspeed",
                                        {"personal_token": creds["lightspeed"]["personal_token"]})
        self.app.store.save_credentials(conn.id or 0, "unleashed",
                                        {"api_id": creds["unleashed"]["api_id"],
                                         "api_key": creds["unleashed"]["api_key"]})
        self.accounting = self._connect_accounting()

    def _connect_accounting(self) -> str | None:
        """Wire the accounting emulator in, if the host runs one and a connector can fill the role."""
        for name in self.host.urls:
            if name in {"lightspeed", "unleashed"}:
                continue
            for system, cls in self.app.registries.connectors.items():
                if getattr(cls, "emulator", None) == name and "accounting" in cls.roles:
                    services.set_system(self.app, CONNECTION, "accounting", system, self.host.urls[name])
                    offered = cls.emulator_credentials(_Offered(self.host.credentials[name]), self.host.urls[name])
                    conn = self.app.store.connection(CONNECTION)
                    self.app.store.save_credentials(conn.id or 0, system, offered)
                    return system
        return None

    # --- set-up (not measured) ----------------------------------------------------------------------
    def prepare(self, settings: dict[str, Any] | None = None) -> None:
        """Reload outlets and warehouses, map them one to one, switch every flow on."""
        services.reload_locations(self.app, CONNECTION)
        rt = self.app.runtime(CONNECTION)
        outlets = self.app.store.known_locations(rt.id, "outlet")
        warehouses = self.app.store.known_locations(rt.id, "warehouse")
        for outlet, warehouse in zip(sorted(outlets, key=lambda o: o.name), sorted(warehouses, key=lambda w: w.code or "")):
            self.app.store.map_location(rt.id, outlet.location_id, warehouse.location_id)
        self.app.set_settings(self.app.store.connection(CONNECTION), {**EVERY_FLOW, **(settings or {})})

    @property
    def mapped(self) -> int:
        return len(self.app.store.location_map(self.app.runtime(CONNECTION).id))

    def flows(self) -> list[str]:
        """Every flow this connection runs, in the order ``sync_once`` runs them."""
        runner_rt = self.app.runtime(CONNECTION)
        from tillbridge.runner import FlowRunner

        runner = FlowRunner(self.app, runner_rt)
        return [f.name for f in services.ordered_flows(self.app) if runner.enabled(f)]

    # --- measured ---------------------------------------------------------------------------------------
    def sync(self, only: Sequence[str] | None = None) -> list[RunResult]:
        return services.sync_once(self.app, CONNECTION, only=only)

    def record_to(self, sink: IO[str] | None) -> None:
        self.recorder.sink = sink

    def close(self) -> None:
        self.app.close()


class _Offered:
    """Stands in for an emulator object in ``Connector.emulator_credentials`` (it only asks for
    ``credentials(base_url)``), since the real emulator lives in the host process."""

    def __init__(self, offered: dict[str, Any]) -> None:
        self._offered = offered

    def credentials(self, base_url: str) -> dict[str, Any]:
        return dict(self._offered)
