"""The console in a real browser (Debian's headless Chromium, driven by Playwright).

One journey an administrator makes on a new install: log in, install the Lightspeed app through
OAuth, enter Unleashed credentials, map outlets by dragging them onto warehouses, set every
switch, import since a date, find the record that failed, fix it at the source and re-import it.
Each page is saved as a screenshot under artifacts/screenshots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tillbridge import services

from .conftest import PASSWORD, TOO_LONG_CODE, ConsoleEnv

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (pip install '.[test]')")
expect = sync_api.expect

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 375, "height": 740}
JOB_TIMEOUT = 30_000  # ms: an upper bound for a small import, not a timing assertion


class Session:
    """A page, the errors its console reported, and screenshots of it."""

    def __init__(self, browser: Any, env: ConsoleEnv, shots: Path, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport, base_url=env.url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.shots = shots

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def login(self) -> None:
        self.page.goto("/")
        expect(self.page).to_have_url(f"{self.page.url.split('/login')[0]}/login")
        self.page.get_by_label("Admin password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.locator("h1")).to_have_text("Connections")

    def flash(self) -> Any:
        return self.page.locator(".flashes")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desktop(browser: Any, console_env: ConsoleEnv, screenshot_dir: Path) -> Any:
    session = Session(browser, console_env, screenshot_dir, DESKTOP)
    yield session
    session.close()


def test_an_administrator_sets_up_and_repairs_a_connection_in_the_browser(
        desktop: Session, console_env: ConsoleEnv) -> None:
    env, page = console_env, desktop.page
    app = env.app

    # --- log in --------------------------------------------------------------------------------
    page.goto("/c/shop/config")
    expect(page.locator("h1")).to_have_text("Log in")
    desktop.shot("01-login")
    page.get_by_label("Admin password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(desktop.flash()).to_contain_text("Wrong password")
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Connections")

    # --- a connection, Lightspeed installed through OAuth against the emulator -------------------------
    page.get_by_label("Name").fill("shop")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("h1")).to_have_text("shop")
    pos = page.locator("#role-pos")
    pos.get_by_label("Store address (API base URL)").fill(env.ls_url)
    pos.get_by_label("App client id").fill("tillbridge-demo")
    pos.get_by_label("App client secret").fill("demo-client-secret")
    pos.get_by_role("button", name="Install app").click()  # → emulator /connect → our callback
    expect(desktop.flash()).to_contain_text("App installed. Connected: Lightspeed store Demostore: 4 outlets")
    conn = app.store.connection("shop")
    stored = app.store.credentials(conn.id or 0, "lightspeed")
    assert stored["access_token"] and stored["refresh_token"] and stored["domain_prefix"] == "demostore"
    assert app.store.systems(conn.id or 0)["pos"].base_url == env.ls_url
    assert env.ls.stats.by_route, "the emulator saw the token exchange"

    # --- Unleashed: the live check refuses a wrong key, then accepts the right one -----------------
    creds = env.ul.credentials(env.ul_url)
    inventory = page.locator('#role-inventory .candidate[data-system="unleashed"]')
    inventory.get_by_label("API base URL").fill(env.ul_url)
    inventory.get_by_label("API id").fill(creds["api_id"])
    inventory.get_by_label("API key").fill("wrong-key")
    inventory.get_by_role("button", name="Save and check").click()
    expect(page.locator(".flash-error")).to_be_visible()
    assert "inventory" not in app.store.systems(conn.id or 0), "a refused check leaves nothing behind"
    inventory = page.locator('#role-inventory .candidate[data-system="unleashed"]')
    expect(inventory.get_by_label("API id")).to_have_value(creds["api_id"])  # kept for the retry
    inventory.get_by_label("API base URL").fill(env.ul_url)
    inventory.get_by_label("API key").fill(creds["api_key"])
    inventory.get_by_role("button", name="Save and check").click()
    expect(page.locator(".flash-ok")).to_contain_text("Connected:")
    expect(page.locator("#role-inventory .badge-ok")).to_have_text("connected")
    desktop.shot("02-connection")

    # --- outlets dragged onto warehouses; a fourth on a taken warehouse is refused ---------------------
    page.get_by_role("link", name="Configuration").click()
    page.get_by_role("button", name="Reload Lightspeed outlets").click()
    expect(desktop.flash()).to_contain_text("Loaded 4 outlets and 3 warehouses")
    expect(page.locator('[data-count="outlets"]')).to_have_text("4")
    expect(page.locator('[data-count="warehouses"]')).to_have_text("3")
    outlets = app.store.known_locations(conn.id or 0, "outlet")
    warehouses = app.store.known_locations(conn.id or 0, "warehouse")
    for outlet, warehouse in zip(outlets[:3], warehouses):
        drag(page, outlet.location_id, warehouse.location_id)
        expect(desktop.flash()).to_contain_text(f"Outlet {outlet.name} now sells from warehouse {warehouse.name}")
        expect(page.locator(f'.dropzone[data-warehouse="{warehouse.location_id}"] .chip')).to_have_text(outlet.name)
    drag(page, outlets[3].location_id, warehouses[0].location_id)
    refusal = page.locator(".flash-error")
    expect(refusal).to_contain_text(f"is already mapped to outlet '{outlets[0].name}'")
    expect(refusal).to_contain_text("unmap that outlet first")
    assert app.store.location_map(conn.id or 0) == {
        o.location_id: w.location_id for o, w in zip(outlets[:3], warehouses)}
    desktop.shot("03-configuration-mapped")

    # --- every switch, validated as the CLI validates ----------------------------------------------
    assembled = page.locator("#set-include_assembled")
    expect(assembled).to_be_disabled()  # only with export_stock
    switches = [s.name for s in app.registries.settings if s.type == "bool"]
    for name in switches:
        if name != "include_assembled":
            page.locator(f"#set-{name}").check()
    expect(assembled).to_be_enabled()
    assembled.check()
    page.locator("#set-product_master").select_option("inventory")
    group = page.locator("#set-sales_group")
    expect(group.locator("option")).to_contain_text(["(none)", "Online", "Retail", "Wholesale"])
    group.select_option("Online")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-ok")).to_contain_text("Saved:")
    saved = app.settings(app.store.connection("shop"))
    assert all(saved[name] is True for name in switches), {n: saved[n] for n in switches}
    assert saved["product_master"] == "inventory" and saved["sales_group"] == "Online"
    expect(page.locator("#set-include_assembled")).to_be_checked()
    page.locator("#set-export_stock").uncheck()  # its dependant follows it, on the page too
    expect(page.locator("#set-include_assembled")).to_be_disabled()
    expect(page.locator("#set-include_assembled")).not_to_be_checked()
    page.locator("#set-export_stock").check()
    desktop.shot("04-configuration-settings")

    # --- import products since a date; one is refused by Unleashed -----------------------------------
    page.get_by_role("link", name="Manage your data").click()
    page.get_by_label("What").select_option("product")
    page.get_by_label("Changed since").fill("2000-01-01")
    page.get_by_role("button", name="Start import").click()
    expect(desktop.flash()).to_contain_text("Started: Import products since 2000-01-01")
    job = page.locator("#jobs .job").first
    expect(job).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT)  # the panel polled itself
    expect(job.locator("table.results")).to_contain_text("products")
    expect(job).to_contain_text("1 failed")
    expect(page.get_by_text("1 record waiting")).to_be_visible()  # the page reloaded itself when the job ended
    desktop.shot("05-data-import-finished")
    imported = [p for p in env.ls.products() if env.ul.product_by_code(p["sku"]) is not None]
    assert len(imported) >= 12, "the store's products are in Unleashed now"

    # --- the failure in the log, fixed at its source, re-imported -------------------------------------
    job.get_by_role("link", name="see why in the connection log").click()
    page.get_by_label("Level").select_option("error")
    page.get_by_label("Entity").select_option("product")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f'tr.entry[data-record="{TOO_LONG_CODE}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".reason")).to_contain_text("Unleashed refused")
    expect(row.locator(".fix")).to_contain_text("shorten the product code")
    expect(row).to_contain_text("Lightspeed Retail (X-Series) → Unleashed")
    desktop.shot("06-log-failure")
    env.ls.update_product(env.hamper_id, sku="HAMPER-DELUXE")  # the retailer shortens the code in Lightspeed
    row.get_by_role("button", name=f"Re-import {TOO_LONG_CODE}").click()
    expect(desktop.flash()).to_contain_text("Started: Re-import record HAMPER-")
    job = page.locator("#jobs .job").first
    expect(job).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT)
    expect(job.locator("table.results")).to_contain_text("products")
    page.get_by_role("button", name="Filter").click()  # "only unresolved" is on: the line is gone
    expect(page.locator(f'tr.entry[data-record="{TOO_LONG_CODE}"]')).to_have_count(0)
    page.get_by_label("Only unresolved").uncheck()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr.entry[data-record="{TOO_LONG_CODE}"] .badge-ok')).to_have_text("resolved")
    assert env.ul.product_by_code("HAMPER-DELUXE") is not None
    assert not app.store.log_entries(conn.id or 0, open_only=True, entity_type="product")
    desktop.shot("07-log-resolved")

    page.get_by_role("link", name="Connections", exact=True).click()
    expect(page.locator("table.flows")).to_contain_text("products")
    desktop.shot("08-connection-status")
    page.get_by_role("link", name="All connections").click()
    expect(page.locator(".connection-card")).to_contain_text("shop")
    desktop.shot("09-overview")
    assert desktop.errors == [], "\n".join(desktop.errors)  # no script error, no CSP violation


def drag(page: Any, outlet_id: str, warehouse_id: str) -> None:
    source = page.locator(f'.drag-source[data-outlet="{outlet_id}"] .chip')
    target = page.locator(f'.dropzone[data-warehouse="{warehouse_id}"]')
    source.drag_to(target)


def test_narrow_screen_and_keyboard_only_mapping(browser: Any, console_env: ConsoleEnv, screenshot_dir: Path) -> None:
    env = console_env
    env.connect_directly()
    services.import_since(env.app, "shop", "product", services.parse_date("2000-01-01"))
    session = Session(browser, env, screenshot_dir, NARROW)
    page = session.page
    try:
        session.login()
        for path, name in (("/c/shop", "narrow-connection"), ("/c/shop/config", "narrow-configuration"),
                           ("/c/shop/data", "narrow-data"), ("/c/shop/log", "narrow-log")):
            page.goto(path)
            session.shot(name)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 375 px"

        # keyboard only: Tab to the first outlet's warehouse list, pick with the arrows, Enter on Map
        page.goto("/c/shop/config")
        conn = env.app.store.connection("shop")
        outlets = env.app.store.known_locations(conn.id or 0, "outlet")
        warehouses = env.app.store.known_locations(conn.id or 0, "warehouse")
        page.locator("body").focus()
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "map-1":
                break
        else:
            pytest.fail("Tab never reached the first outlet's warehouse list")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")  # the second warehouse
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Map"
        page.keyboard.press("Enter")
        expect(session.flash()).to_contain_text(f"Outlet {outlets[0].name} now sells from warehouse {warehouses[1].name}")
        assert env.app.store.location_map(conn.id or 0) == {outlets[0].location_id: warehouses[1].location_id}
        session.shot("narrow-keyboard-mapped")

        page.set_viewport_size(DESKTOP)
        page.goto("/c/shop/config")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        session.shot("desktop-configuration")
        assert session.errors == [], session.errors
    finally:
        session.close()
