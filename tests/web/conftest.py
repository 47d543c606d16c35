"""Fixtures of the console tests: a console over a fresh database beside running emulators,
and (for the browser tests) Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
from html import unescape
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from tillbridge import services
from tillbridge.app import App
from tillbridge.emulation import BackgroundServer
from tillbridge.web import create_console_app, set_password
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_unleashed.emulator import UnleashedEmulator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
INSTALL_HINT = "apt-get update && apt-get install -y chromium chromium-driver"
PASSWORD = "correct horse battery staple"
#: Unleashed limits ProductCode to 100 characters (shared/api-notes/unleashed.md §4.2): Lightspeed
#: takes this code, Unleashed refuses it, so the product lands in the log as a failure.
TOO_LONG_CODE = "HAMPER-" + "DELUXE" * 19
ARTIFACTS = Path(os.environ.get("TILLBRIDGE_ARTIFACTS") or Path(__file__).resolve().parents[2] / "artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"


@dataclass
class ConsoleEnv:
    """A console (served on loopback) over an empty database, with a Lightspeed store of four
    outlets and an Unleashed account of three warehouses running on emulators."""

    app: App
    url: str
    web: Any
    ls: LightspeedEmulator
    ul: UnleashedEmulator
    ls_url: str
    ul_url: str
    hamper_id: str
    servers: list[BackgroundServer] = field(default_factory=list)

    def connect_directly(self, name: str = "shop") -> None:
        """Set up the connection without the browser (for tests about something else)."""
        services.add_connection(self.app, name, {"pos": ("lightspeed", self.ls_url),
                                                 "inventory": ("unleashed", self.ul_url)})
        services.save_credentials(self.app, name, "lightspeed",
                                  {"personal_token": self.ls.credentials(self.ls_url)["personal_token"]})
        creds = self.ul.credentials(self.ul_url)
        services.save_credentials(self.app, name, "unleashed", {"api_id": creds["api_id"], "api_key": creds["api_key"]})
        services.reload_locations(self.app, name)

    def client(self, *, login: bool = True) -> TestClient:
        """An HTTP client on the console app (in-process), logged in unless asked not to."""
        # a loopback base URL: the Lightspeed emulator accepts only loopback redirect URIs
        client = TestClient(self.web, base_url="http://127.0.0.1:8765", follow_redirects=False)
        if login:
            token = csrf_of(client.get("/login").text)
            response = client.post("/login", data={"password": PASSWORD, "csrf_token": token})
            assert response.status_code == 303 and response.headers["location"] == "/"
        return client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def flashes(html: str) -> list[str]:
    found = re.findall(r'<span class="flash-text">(.*?)</span>', html, re.S)
    return [unescape(re.sub(r"\s+", " ", m).strip()) for m in found]


@pytest.fixture
def console_env(make_app) -> Iterator[ConsoleEnv]:  # type: ignore[no-untyped-def]
    app: App = make_app()
    set_password(app, PASSWORD)
    ls = LightspeedEmulator(seed=11, time_scale=60.0, options={"products": 12, "customers": 4, "outlets": 4})
    ul = UnleashedEmulator(seed=11, time_scale=60.0)
    hamper = ls.create_product("Deluxe gift hamper", TOO_LONG_CODE, Decimal("99.00"))
    servers = [BackgroundServer(ls).start(), BackgroundServer(ul).start()]
    web = create_console_app(app)
    console = BackgroundServer(web).start()
    servers.append(console)
    env = ConsoleEnv(app, console.url, web, ls, ul, servers[0].url, servers[1].url, hamper["id"], servers)
    try:
        yield env
    finally:
        web.state.console.jobs.wait_all(timeout=30)
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"browser tests need Debian's Chromium at {CHROMIUM} (install it: {INSTALL_HINT})"
        if os.environ.get("TILLBRIDGE_REQUIRE_BROWSER"):
            pytest.fail(message + "; TILLBRIDGE_REQUIRE_BROWSER is set")
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (pip install '.[test]')")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
