"""The console in a real browser (Debian's headless Chromium, driven by Playwright).

One journey an administrator makes on a new install: log in, install the Lightspeed app through
OAuth, enter Unleashed credentials, map outlets by dragging them onto warehouses, set every
switch, import since a date, find the record that failed, fix it at the source and re-import it.
Each page is saved as a screenshot under artifacts/screenshots.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

import pytest

from tillbridge import services
from tillbridge.emulation import BackgroundServer
from tillbridge_accounting.emulator import XeroEmulator
from tillbridge_accounting.emulator.consent import DEMO_EMAIL, DEMO_PASSWORD

from .conftest import PASSWORD, TOO_LONG_CODE, ConsoleEnv

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (pip install '.[test]')")
expect = sync_api.expect

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 375, "height": 740}
PHONE = {"width": 390, "height": 844}
JOB_TIMEOUT = 30_000  # ms: an upper bound for a small import, not a timing assertion


class Session:
    """A page, the errors its console reported, and screenshots of it."""

    def __init__(self, browser: Any, env: ConsoleEnv, shots: Path, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport, base_url=env.url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        origin = env.url.rstrip("/")

        def on_console(message: Any) -> None:
            # the console's own pages only: a provider's consent page (an emulator) is not ours
            if message.type == "error" and str((message.location or {}).get("url", origin)).startswith(origin):
                self.errors.append(message.text)

        self.page.on("console", on_console)
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


def test_a_new_retailer_sets_up_syncs_and_repairs_everything_in_the_browser(
        desktop: Session, console_env: ConsoleEnv, browser: Any, screenshot_dir: Path) -> None:
    """From an empty database: install Lightspeed, connect Unleashed, connect Xero through its
    consent page, map by dragging, switch the options on, first sync; then one sale with a
    product Unleashed does not know is held, named in the log by its code, and fixed by the
    row's Re-import button. Pages at 1280 and 390 px have no element wider than the screen."""
    env, page = console_env, desktop.page
    app = env.app
    xero = XeroEmulator(seed=11)
    xero_server = BackgroundServer(xero).start()
    env.servers.append(xero_server)

    # --- log in --------------------------------------------------------------------------------
    page.goto("/c/shop/config")
    expect(page.locator("h1")).to_have_text("Log in")
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
    assert app.store.credentials(conn.id or 0, "lightspeed")["refresh_token"]

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
    inventory.get_by_label("API base URL").fill(env.ul_url)
    inventory.get_by_label("API key").fill(creds["api_key"])
    inventory.get_by_role("button", name="Save and check").click()
    expect(page.locator("#role-inventory .badge-ok")).to_have_text("connected")

    # --- Xero by OAuth: its consent page (log in, pick the organisation, allow) -----------------------
    accounting = page.locator('#role-accounting .candidate[data-system="xero"]')
    assert accounting.locator('input[name="tenant_id"], input[name="access_token"], '
                              'input[name="refresh_token"]').count() == 0  # nothing to type from Xero
    accounting.locator("summary").first.click()
    accounting.get_by_label("App client id").fill(xero.settings.client_id)
    accounting.get_by_label("App client secret").fill(xero.settings.client_secret)
    accounting.get_by_text("Advanced: API address").click()
    accounting.get_by_label("API address").fill(xero_server.url)
    accounting.get_by_role("button", name="Connect Xero").click()
    expect(page.get_by_role("heading", name="Xero")).to_be_visible()  # the emulator's consent page
    page.get_by_label("Email address").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Allow access").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_label("Organisation to connect").select_option(label="Demo Retail Ltd")
    desktop.shot("walk-02-xero-consent")
    page.get_by_role("button", name="Allow access").click()
    expect(desktop.flash()).to_contain_text("Connected: Xero organisation 'Demo Retail Ltd'")
    assert app.store.credentials(conn.id or 0, "xero")["tenant_id"] == xero.tenant_id(0)
    desktop.shot("walk-03-connection")

    # --- outlets dragged onto warehouses; a fourth on a taken warehouse is refused ---------------------
    page.get_by_role("link", name="Configuration").click()
    page.get_by_role("button", name="Reload Lightspeed outlets").click()
    expect(desktop.flash()).to_contain_text("Loaded 4 outlets and 3 warehouses")
    outlets = app.store.known_locations(conn.id or 0, "outlet")
    warehouses = app.store.known_locations(conn.id or 0, "warehouse")
    for outlet, warehouse in zip(outlets[:3], warehouses):
        drag(page, outlet.location_id, warehouse.location_id)
        expect(desktop.flash()).to_contain_text(f"Outlet {outlet.name} now sells from warehouse {warehouse.name}")
    drag(page, outlets[3].location_id, warehouses[0].location_id)
    expect(page.locator(".flash-error")).to_contain_text(f"is already mapped to outlet '{outlets[0].name}'")
    assert app.store.location_map(conn.id or 0) == {o.location_id: w.location_id for o, w in zip(outlets[:3], warehouses)}

    # --- the retailer's options, in the page's words; the invoice switch says what it will send ----------
    expect(page.locator('[data-explain="accounting_invoice"]')).to_contain_text(
        "only invoices made from the moment you switch it on are sent")
    for label in ("Export customers", "Export products", "Export stock on hand"):
        page.get_by_label(label, exact=True).check()
    page.get_by_label("Include quantities for auto-assembled products").check()
    page.get_by_label("Add sales group").select_option("Online")
    page.get_by_label("Accounting system invoice").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-ok")).to_contain_text("Saved:")
    expect(page.locator('[data-explain="accounting_invoice"]')).to_contain_text("are sent to Xero; older ones are not")
    saved = app.settings(app.store.connection("shop"))
    assert saved["export_stock"] and saved["accounting_invoice"] and saved["accounting_since"]
    desktop.shot("walk-04-configuration")

    # --- first sync: the product Unleashed refuses makes it "finished with 1 failure", not "ok" ----------
    page.get_by_role("link", name="Manage your data").click()
    page.get_by_role("button", name="Sync now").click()
    expect(desktop.flash()).to_contain_text("Started:")
    job = page.locator("#jobs .job").first
    expect(job).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT)
    expect(job.locator('.run-state[data-state="partial"]').first).to_have_text("finished with 1 failure")
    assert len([p for p in env.ls.products() if env.ul.product_by_code(p["sku"]) is not None]) >= 12

    # --- one sale of a product Unleashed does not know ---------------------------------------------------
    mug = env.ls.create_product("Limited Edition Mug", "MUG-LTD-1", Decimal("19.00"))
    sale = env.ls.ring_up_sale(outlets[0].location_id, [{"product_id": mug["id"], "quantity": Decimal(1)}])
    page.reload()
    page.get_by_label("What").select_option("sale")
    page.get_by_label("Changed since").fill(datetime.now(timezone.utc).strftime("%Y-%m-%d"))
    page.get_by_role("button", name="Start import").click()
    expect(desktop.flash()).to_contain_text("Started: Import sales since")
    job = page.locator("#jobs .job").first
    expect(job).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT)
    page.goto("/c/shop/log?level=warning&open=1")
    row = page.locator(f'tr.entry[data-record="{sale["invoice_number"]}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".reason")).to_contain_text("product 'MUG-LTD-1' of Lightspeed Retail (X-Series) is not in Unleashed yet")
    assert mug["id"] not in row.locator(".reason").inner_text() + row.locator(".fix").inner_text()  # no ids
    expect(row.locator(".fix code.command").last).to_have_text(
        f"tillbridge reimport --record {sale['invoice_number']} -c shop")
    desktop.shot("walk-05-log-held-sale")

    # the retailer brings the product into Unleashed, then presses the row's Re-import button
    page.goto("/c/shop/data")
    page.get_by_label("What").select_option("product")
    page.get_by_label("Changed since").fill("2000-01-01")
    page.get_by_role("button", name="Start import").click()
    expect(desktop.flash()).to_contain_text("Started: Import products since 2000-01-01")
    expect(page.locator("#jobs .job").first).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT)
    assert env.ul.product_by_code("MUG-LTD-1") is not None
    page.goto("/c/shop/log?level=warning&open=1")
    row = page.locator(f'tr.entry[data-record="{sale["invoice_number"]}"]')
    row.get_by_role("button", name=f"Re-import {sale['invoice_number']}").click()
    expect(desktop.flash()).to_contain_text(f"Started: Re-import record {sale['invoice_number']}")
    expect(page.locator("#jobs .job").first).to_have_attribute("data-state", "done", timeout=JOB_TIMEOUT)
    page.goto("/c/shop/log?level=warning&open=1")
    expect(page.locator(f'tr.entry[data-record="{sale["invoice_number"]}"]')).to_have_count(0)
    held = [e for e in app.store.log_entries(conn.id or 0, entity_type="sale")
            if e.record_key == sale["invoice_number"] and e.category == "held"]
    assert held and all(e.resolved_at is not None for e in held)
    order = next(o for o in env.ul.sales_orders() if o["CustomerRef"] == sale["invoice_number"])
    assert order["SalesOrderGroup"] == "Online"  # the sales group switched on above

    # --- the overview: counters agree; every page fits at 1280 and at 390 px ------------------------------
    page.goto("/c/shop")
    waiting = len(app.store.log_entries(conn.id or 0, open_only=True, limit=1000))
    expect(page.locator(".overview .facts")).to_contain_text(f"Records waiting{waiting}")
    expect(page.locator('.flow[data-flow="products"] .run-state')).to_have_text("finished with 1 failure")
    pages = ("/", "/c/shop", "/c/shop/config", "/c/shop/data", "/c/shop/log")
    check_layout(desktop, pages, "walk-1280")
    narrow = Session(browser, env, screenshot_dir, PHONE)
    try:
        narrow.login()
        check_layout(narrow, pages, "walk-390")
        assert narrow.errors == [], narrow.errors
    finally:
        narrow.close()
    assert desktop.errors == [], "\n".join(desktop.errors)  # no script error, no CSP violation


#: Elements wider than the screen, or reaching past its right edge (tables inside a scrolling box
#: are allowed to be wider: the box scrolls, the page does not).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.scroll') && !el.classList.contains('scroll')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.width > width + 1 || box.right > width + 1) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className}: ${Math.round(box.width)}px, right ${Math.round(box.right)}`);
    }
  }
  return out;
}"""


def check_layout(session: Session, paths: Sequence[str], prefix: str) -> None:
    """Each page: a screenshot, and no element wider than the viewport (with Advanced opened)."""
    for path in paths:
        session.page.goto(path)
        session.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        name = path.strip("/").replace("/", "-") or "connections"
        session.shot(f"{prefix}-{name}")
        wide = session.page.evaluate(OVERFLOW_JS)
        assert wide == [], f"{path} at {session.page.viewport_size['width']} px: {wide[:8]}"


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
