"""Accounting connected from the console: "Connect Xero" / "Connect QuickBooks" run OAuth through
the provider's consent page (log in, pick the organisation, allow or cancel); no field asks for a
token or a tenant id."""

from __future__ import annotations

import re
import urllib.parse
from typing import Iterator

import httpx
import pytest

from tillbridge.emulation import BackgroundServer
from tillbridge_accounting.emulator import QuickBooksEmulator, XeroEmulator, consent

from .conftest import ConsoleEnv, csrf_of, flashes


@pytest.fixture
def xero_url() -> Iterator[tuple[XeroEmulator, str]]:
    emulator = XeroEmulator(seed=3, options={"tenants": [{"name": "Kiwi Retail Ltd"}, {"name": "Kiwi Holdings"}]})
    with BackgroundServer(emulator) as server:
        yield emulator, server.url


def _connect(env: ConsoleEnv, system: str, url: str, client_id: str, secret: str, *,
             organisation: str | None = None, deny: bool = False) -> str:
    client = env.client()
    page = client.get("/c/shop").text
    started = client.post("/c/shop/install/accounting", data={
        "csrf_token": csrf_of(page), "system": system, "base_url": url, "client_id": client_id,
        "client_secret": secret})
    assert started.status_code == 303, started.text
    with httpx.Client(timeout=10) as browser:
        consent_page = browser.get(started.headers["location"])
        assert "Allow access" in consent_page.text
        answer = consent.submit(browser, consent_page, organisation=organisation, deny=deny)
    back = urllib.parse.urlsplit(answer.headers["location"])
    done = client.get(f"{back.path}?{back.query}", follow_redirects=True)
    return " ".join(flashes(done.text))


def test_connect_xero_picks_the_organisation_on_xero_s_page(console_env: ConsoleEnv,
                                                             xero_url: tuple[XeroEmulator, str]) -> None:
    env = console_env
    env.connect_directly()
    emulator, url = xero_url
    page = env.client().get("/c/shop").text
    section = page[page.index('id="role-accounting"'):]
    assert re.search(r'<button type="submit">Connect Xero</button>', section)
    assert re.search(r'<button type="submit">Connect QuickBooks Online</button>', section)
    typed = set(re.findall(r'name="([a-z_]+)"', section))
    assert not typed & {"tenant_id", "access_token", "refresh_token", "realm_id"}, typed

    said = _connect(env, "xero", url, emulator.settings.client_id, emulator.settings.client_secret, deny=True)
    assert "Xero was not connected: access was not allowed on its page" in said
    assert "accounting" not in env.app.store.systems(env.app.store.connection("shop").id or 0)

    said = _connect(env, "xero", url, emulator.settings.client_id, emulator.settings.client_secret,
                    organisation="Kiwi Holdings")
    assert said == "Connected: Xero organisation 'Kiwi Holdings'."
    conn = env.app.store.connection("shop")
    assert env.app.store.credentials(conn.id or 0, "xero")["tenant_id"] == emulator.tenant_id(1)
    assert env.app.store.systems(conn.id or 0)["accounting"].base_url == f"{url}/api.xro/2.0"

    # the account map's rows pick from Xero's revenue accounts and the inventory's tax codes
    config = env.client().get("/c/shop/config").text
    rows = config[config.index('data-setting="accounting_account_map"'):]
    rows = rows[:rows.index("</table>")]
    assert re.search(r'<option value="200" >200 Sales</option>', rows), rows[:2000]
    assert re.search(r'<option value="tax:[A-Z0-9]+">tax ', rows)
    tax_rows = config[config.index('data-setting="accounting_tax_map"'):]
    assert re.search(r'<option value="OUTPUT2" >OUTPUT2 \(15%\)</option>', tax_rows[:tax_rows.index("</table>")])


def test_connect_quickbooks_takes_the_company_picked_on_intuit_s_page(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    emulator = QuickBooksEmulator(seed=3)
    with BackgroundServer(emulator) as server:
        said = _connect(env, "quickbooks", server.url, emulator.settings.client_id, emulator.settings.client_secret)
    assert said == "Connected: QuickBooks company 'Demo Retail Pty Ltd'."
    conn = env.app.store.connection("shop")
    assert env.app.store.credentials(conn.id or 0, "quickbooks")["realm_id"] == emulator.realm_id
