"""The Reconciliation page and the 30-day chart, over HTTP and (at 390 px) in Chromium."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tillbridge import services

from .conftest import ConsoleEnv, csrf_of

ZONE = ZoneInfo("Pacific/Auckland")  # the emulated outlets' time zone


def open_day(env: ConsoleEnv) -> tuple[str, dict[str, Any]]:
    """Products imported and stocked, outlet 1 mapped, three sales rung up and imported.
    Returns the trading day (as the sales' own date says) and the outlet."""
    env.connect_directly()
    outlet = env.ls.outlets()[0]
    warehouse = env.ul.warehouses()[0]
    services.map_outlet(env.app, "shop", outlet["id"], warehouse["WarehouseCode"])
    services.sync_once(env.app, "shop", only=["products", "customers"])
    products = [p for p in env.ls.products() if env.ul.product_by_code(p.get("sku") or "")
                and p.get("has_inventory", True) and not p.get("is_composite")][:3]  # stock Unleashed keeps
    for p in products:
        env.ul.receive_stock(env.ul.product_by_code(p["sku"])["Guid"], warehouse["Guid"], Decimal(50))  # type: ignore[index]
    sales = [env.ls.ring_up_sale(outlet["id"], [{"product_id": p["id"], "quantity": Decimal(1)}]) for p in products]
    assert services.sync_once(env.app, "shop", only=["sales"])[0].created == 3
    day = datetime.fromisoformat(sales[0]["sale_date"]).astimezone(ZONE).date().isoformat()
    return day, outlet


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_page_shows_a_day_side_by_side_and_a_reimport_fixes_a_held_sale(console_env: ConsoleEnv) -> None:
    env = console_env
    day, outlet = open_day(env)
    client = env.client()
    page = client.get(f"/c/shop/reconcile?date={day}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "The systems agree" in words and outlet["name"] in words
    assert "3 closed sales" in words and "3 orders" in words and "3 completed · 0 parked" in words
    assert 'aria-current="page">Reconciliation<' in page.text

    # a sale of a product Unleashed does not know yet: held, named by its sale number
    tote = env.ls.create_product("Limited edition tote", "TOTE-LTD-1", Decimal("30.00"))
    sale = env.ls.ring_up_sale(outlet["id"], [{"product_id": tote["id"], "quantity": Decimal(1)}])
    assert services.sync_once(env.app, "shop", only=["sales"])[0].held == 1
    page = client.get(f"/c/shop/reconcile?date={day}")
    words = text_of(page.text)
    assert "1 difference found" in words
    assert f'data-sale="{sale["invoice_number"]}" data-cause="held"' in page.text
    assert f"Sale {sale['invoice_number']} held" in words and "Re-import" in words
    form = re.search(r'<form method="post" action="/c/shop/jobs/reimport".*?</form>', page.text, re.S)
    assert form and f'name="record" value="{sale["invoice_number"]}"' in form.group(0)

    # the product arrives in Unleashed (with stock); the page's Re-import button retries the sale
    services.sync_once(env.app, "shop", only=["products"])
    env.ul.receive_stock(env.ul.product_by_code("TOTE-LTD-1")["Guid"], env.ul.warehouses()[0]["Guid"], Decimal(5))  # type: ignore[index]
    done = client.post("/c/shop/jobs/reimport", data={"csrf_token": csrf_of(page.text), "record": sale["invoice_number"],
                                                      "next": f"/c/shop/reconcile?date={day}"})
    assert done.status_code == 303 and done.headers["location"].endswith(f"/c/shop/reconcile?date={day}")
    env.web.state.console.jobs.wait_all(timeout=30)
    words = text_of(client.get(f"/c/shop/reconcile?date={day}").text)
    assert "The systems agree" in words and "4 closed sales" in words and "4 completed · 0 parked" in words


def test_a_bad_or_future_date_is_refused_in_words(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    client = env.client()
    page = client.get("/c/shop/reconcile?date=31/12/2026", follow_redirects=True)
    assert "is not a date" in text_of(page.text) and "YYYY-MM-DD" in text_of(page.text)
    page = client.get("/c/shop/reconcile?date=2999-01-01", follow_redirects=True)
    assert "has not happened yet" in text_of(page.text)


def test_the_overview_charts_the_last_30_days_from_our_tables(console_env: ConsoleEnv) -> None:
    env = console_env
    open_day(env)
    env.ls.stats.reset()
    env.ul.stats.reset()
    page = env.client().get("/c/shop")
    assert env.ls.stats.total == 0 and env.ul.stats.total == 0  # drawn from our own tables only
    chart = re.search(r'<svg class="activity-chart".*?</svg>', page.text, re.S)
    assert chart, "no activity chart on the overview"
    labels = re.findall(r"<title>([^<]+)</title>", chart.group(0))
    assert any(label.endswith(": 3 sales moved") for label in labels)
    assert any(" products moved" in label for label in labels)
    assert "<script" not in chart.group(0) and "style=" not in chart.group(0)  # the CSP allows neither


def test_the_page_fits_a_390_px_phone(browser: Any, console_env: ConsoleEnv, screenshot_dir: Path) -> None:
    from .test_browser import Session

    env = console_env
    day, outlet = open_day(env)
    tote = env.ls.create_product("Limited edition tote with a rather long name", "TOTE-LTD-1", Decimal("30.00"))
    env.ls.ring_up_sale(outlet["id"], [{"product_id": tote["id"], "quantity": Decimal(1)}])
    services.sync_once(env.app, "shop", only=["sales"])
    for width in (390, 1280):
        session = Session(browser, env, screenshot_dir, {"width": width, "height": 800})
        try:
            session.login()
            # the whole Reconciliation page; on the overview, the chart (the rest is another page's)
            for path, name, scope in ((f"/c/shop/reconcile?date={day}", "reconcile", "main"),
                                      ("/c/shop", "overview-chart", ".activity")):
                session.page.goto(path)
                session.shot(f"{name}-{width}")
                if scope == "main":
                    overflow = session.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width} px"
                wide = session.page.evaluate(
                    f"[...document.querySelectorAll('{scope}, {scope} *')].filter(e => !e.closest('.scroll')"
                    " && e.getBoundingClientRect().right > window.innerWidth + 0.5)"
                    ".map(e => e.tagName + '.' + e.className).slice(0, 5)")
                assert wide == [], f"{path} at {width} px: wider than the screen: {wide}"
            assert session.page.locator(".recon-diff").count() == 0  # overview has none; the page had one
            session.page.goto(f"/c/shop/reconcile?date={day}")
            assert session.page.locator(".recon-diff").count() == 1
            assert session.errors == [], session.errors
        finally:
            session.close()

    # on the phone: the tote reaches Unleashed (with stock), and the Re-import button fixes the day
    services.sync_once(env.app, "shop", only=["products"])
    env.ul.receive_stock(env.ul.product_by_code("TOTE-LTD-1")["Guid"], env.ul.warehouses()[0]["Guid"], Decimal(5))  # type: ignore[index]
    session = Session(browser, env, screenshot_dir, {"width": 390, "height": 800})
    try:
        session.login()
        page = session.page
        page.goto(f"/c/shop/reconcile?date={day}")
        page.get_by_role("button", name="Re-import sale").click()
        expect = pytest.importorskip("playwright.sync_api").expect
        expect(page.locator(".recon-verdict")).to_contain_text("The systems agree", timeout=30_000)
        expect(page.locator(".recon-outlet .recon-count").first).to_have_text("4 closed sales")
        session.shot("reconcile-fixed-390")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"with the finished job shown, the page scrolls sideways by {overflow}px"
        assert session.errors == [], session.errors
    finally:
        session.close()
