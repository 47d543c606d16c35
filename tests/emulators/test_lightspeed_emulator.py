"""The Lightspeed X-Series emulator, driven only with plain httpx the way the public docs describe.

Facts checked here come from shared/api-notes/lightspeed-xseries.md (sections cited per test).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tillbridge.emulation import BackgroundServer
from tillbridge_lightspeed.emulator import LightspeedEmulator

SMALL = {"products": 40, "customers": 8, "sales": 4}


@contextmanager
def running(
    options: dict[str, Any] | None = None, time_scale: float = 1.0, seed: int = 3
) -> Iterator[tuple[LightspeedEmulator, httpx.Client, str]]:
    """An emulator on loopback and an httpx client holding an app's access token."""
    emulator = LightspeedEmulator(seed=seed, time_scale=time_scale, options={**SMALL, **(options or {})})
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            try:
                yield emulator, client, server.url
            finally:
                emulator.close()


@pytest.fixture()
def store() -> Iterator[tuple[LightspeedEmulator, httpx.Client, str]]:
    with running() as triple:
        yield triple


def crawl(client: httpx.Client, path: str, page_size: int, after: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Follow the 2.0 version cursor to the end (§4): ``after=version.max`` until data is empty."""
    seen: list[dict[str, Any]] = []
    while True:
        r = client.get(path, params={"after": after, "page_size": page_size})
        assert r.status_code == 200, r.text
        body = r.json()
        if not body["data"]:
            return seen, after
        versions = [rec["version"] for rec in body["data"]]
        assert versions == sorted(versions) and min(versions) > after
        assert body["version"] == {"min": versions[0], "max": versions[-1]}
        seen.extend(body["data"])
        after = body["version"]["max"]


# --- OAuth ----------------------------------------------------------------------------------------


def test_oauth_code_flow_refresh_rotation_and_expiry() -> None:
    with running() as (emulator, _, url):
        plain = httpx.Client(base_url=url, timeout=10)
        redirect = "http://127.0.0.1:8765/callback"
        r = plain.get(
            "/connect",
            params={"response_type": "code", "client_id": "tillbridge-demo", "redirect_uri": redirect,
                    "state": "state-12345", "scope": "products:read sales:read"},  # fmt: skip
        )
        assert r.status_code == 302
        location = urlsplit(r.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
        query = parse_qs(location.query)
        assert query["state"] == ["state-12345"] and query["domain_prefix"] == ["demostore"]
        form = {"grant_type": "authorization_code", "code": query["code"][0], "client_id": "tillbridge-demo",
                "client_secret": "demo-client-secret", "redirect_uri": redirect}  # fmt: skip
        first = plain.post("/api/1.0/token", data=form)
        assert first.status_code == 200
        tokens = first.json()
        assert tokens["token_type"] == "Bearer" and tokens["domain_prefix"] == "demostore"
        assert tokens["expires_in"] == 86400 and tokens["expires"] >= int(time.time()) + 86000
        assert tokens["scope"] == "products:read sales:read"

        def get(token: str) -> httpx.Response:
            return plain.get("/api/2.0/outlets", headers={"Authorization": f"Bearer {token}"})

        assert get(tokens["access_token"]).status_code == 200
        # The code is single use.
        again = plain.post("/api/1.0/token", data=form)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        # Wrong secret.
        bad = plain.post("/api/1.0/token", data={**form, "client_secret": "nope"})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"

        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                   "client_id": "tillbridge-demo", "client_secret": "demo-client-secret"}  # fmt: skip
        rotated = plain.post("/api/1.0/token", data=refresh).json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert get(tokens["access_token"]).status_code == 401  # the old access token is gone
        reused = plain.post("/api/1.0/token", data=refresh)  # and the old refresh token too
        assert reused.status_code == 400 and reused.json() == {
            "error": "invalid_grant",
            "error_description": reused.json()["error_description"],
        }
        assert get(rotated["access_token"]).status_code == 200

        emulator.clock.advance(86400 + 1)
        expired = get(rotated["access_token"])
        assert expired.status_code == 401 and expired.json() == {"error": "Access token is not valid"}
        assert get("lsxs_pt_demo_personal_token").status_code == 200  # personal tokens do not expire
        renewed = plain.post("/api/1.0/token", data={**refresh, "refresh_token": rotated["refresh_token"]})
        assert get(renewed.json()["access_token"]).status_code == 200


def test_connect_refuses_unknown_apps_and_reports_denial(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    _, _, url = store
    plain = httpx.Client(base_url=url)
    base = {"response_type": "code", "client_id": "tillbridge-demo", "state": "abcdefgh"}
    assert plain.get("/connect", params={**base, "client_id": "other", "redirect_uri": "http://127.0.0.1:1/cb"}).status_code == 400
    assert plain.get("/connect", params={**base, "redirect_uri": "https://evil.example.com/cb"}).status_code == 400
    denied = plain.get("/connect", params={**base, "redirect_uri": "http://localhost:5000/cb", "deny": "1"})
    assert denied.status_code == 302
    assert parse_qs(urlsplit(denied.headers["location"]).query) == {"error": ["access_denied"], "state": ["abcdefgh"]}


def test_only_exact_registered_redirect_uri_is_accepted() -> None:
    with running({"redirect_uris": ["https://app.example.com/oauth/callback"]}) as (_, _, url):
        plain = httpx.Client(base_url=url)
        params = {"response_type": "code", "client_id": "tillbridge-demo", "state": "abcdefgh"}
        loopback = plain.get("/connect", params={**params, "redirect_uri": "http://127.0.0.1:8000/cb"})
        assert loopback.status_code == 400
        ok = plain.get("/connect", params={**params, "redirect_uri": "https://app.example.com/oauth/callback"})
        assert ok.status_code == 302


def test_requests_without_a_valid_token_get_401(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, _, url = store
    plain = httpx.Client(base_url=url)
    assert plain.get("/api/2.0/products").json() == {"error": "Access token is not valid"}
    assert plain.get("/api/2.0/products", headers={"Authorization": "Bearer made-up"}).status_code == 401
    token = emulator.issue_token()["access_token"]
    emulator.revoke_all_tokens()
    assert plain.get("/api/2.0/products", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- version cursor -------------------------------------------------------------------------------


def test_version_paging_sees_every_product_once_and_ends_on_an_empty_page(
    store: tuple[LightspeedEmulator, httpx.Client, str],
) -> None:
    emulator, client, _ = store
    products, last = crawl(client, "/api/2.0/products", page_size=7)
    ids = [p["id"] for p in products]
    assert len(ids) == len(set(ids)) == len(emulator.products())
    # The empty page that ends the crawl carries no version block (2.0 ``Version`` needs integers).
    assert client.get("/api/2.0/products", params={"after": last}).json() == {"data": []}
    # ``before`` bounds the page from above.
    bounded = client.get("/api/2.0/products", params={"before": products[3]["version"]}).json()["data"]
    assert [p["id"] for p in bounded] == ids[:3]


def test_a_changed_product_reappears_after_the_cursor(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    first, cursor = crawl(client, "/api/2.0/products", page_size=1000)
    target = first[0]
    emulator.update_product(target["id"], name="Renamed Scarf")
    changed, _ = crawl(client, "/api/2.0/products", page_size=1000, after=cursor)
    assert [p["id"] for p in changed] == [target["id"]]
    assert changed[0]["name"] == "Renamed Scarf" and changed[0]["version"] > cursor
    # The version counter is shared by every collection: a sale's version is higher still.
    sale = emulator.ring_up_sale(emulator.outlets()[0]["id"], [{"product_id": first[5]["id"], "quantity": 1}])
    assert sale["version"] > changed[0]["version"]
    versions = client.get("/api/2.0/versions").json()["data"]
    assert versions["sales"] == sale["version"] and versions["products"] == changed[0]["version"]


def test_empty_page_version_block_can_be_null() -> None:
    with running({"empty_page_version": "null"}) as (_, client, _):
        _, last = crawl(client, "/api/2.0/outlets", page_size=100)
        assert client.get("/api/2.0/outlets", params={"after": last}).json() == {
            "data": [],
            "version": {"min": None, "max": None},
        }


def test_deleted_customers_are_listed_only_on_request(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    _, client, _ = store
    created = client.post("/api/2.0/customers", json={"first_name": "Mere", "last_name": "Tane", "email": "m@example.com"})
    assert created.status_code == 201
    customer = created.json()["data"]
    assert customer["customer_code"].startswith("Mere-") and customer["version"] > 0
    # The spec's PUT body is CustomerBase: first_name and last_name are required there too.
    updated = client.put(f"/api/2.0/customers/{customer['id']}",
                         json={"first_name": "Mere", "last_name": "Tane", "phone": "09 555 0000"})
    assert updated.status_code == 200 and updated.json()["data"]["phone"] == "09 555 0000"
    assert client.delete(f"/api/2.0/customers/{customer['id']}").status_code == 204
    listed = [c["id"] for c in client.get("/api/2.0/customers").json()["data"]]
    with_deleted = client.get("/api/2.0/customers", params={"deleted": "true"}).json()["data"]
    assert customer["id"] not in listed
    assert [c["deleted_at"] is not None for c in with_deleted if c["id"] == customer["id"]] == [True]


# --- products, codes, inventory -------------------------------------------------------------------


def test_sku_lookup_finds_a_product_by_any_of_its_codes(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    product = emulator.products()[10]
    found = client.get("/api/2.0/products", params={"sku": product["sku"], "page_size": 1, "after": 10**12})
    assert [p["id"] for p in found.json()["data"]] == [product["id"]]  # other params ignored
    assert client.get("/api/2.0/products", params={"sku": "NOPE999"}).json()["data"] == []
    with_barcode = emulator.create_product(
        "Barcode Mug", "MUG1", Decimal("20"), product_codes=[{"type": "EAN", "code": "9400000000017"}]
    )
    by_ean = client.get("/api/2.0/products", params={"sku": "9400000000017"}).json()["data"]
    assert [p["id"] for p in by_ean] == [with_barcode["id"]]
    assert emulator.product_by_sku("MUG1")["id"] == with_barcode["id"]  # type: ignore[index]


def test_codes_sent_with_spaces_are_stored_without_them(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    outlet = emulator.outlets()[0]["id"]
    r = client.post(
        "/api/2.0/products",
        json={"name": "Gift Box", "sku": "GB 100 A", "handle": "gift box", "price_excluding_tax": 10,
              "product_codes": [{"type": "UPC", "code": " 0123 4567 "}],
              "inventory": [{"outlet_id": outlet, "current_amount": 4}]},  # fmt: skip
    )
    assert r.status_code == 200
    [new_id] = r.json()["data"]
    product = client.get(f"/api/2.0/products/{new_id}").json()["data"]
    assert product["sku"] == "GB100A" and product["handle"] == "giftbox"
    assert [c["code"] for c in product["product_codes"]] == ["GB100A", "01234567"]
    assert product["price_including_tax"] == 11.5
    assert client.get("/api/2.0/products", params={"sku": "GB 100 A"}).json()["data"] == []
    assert emulator.inventory_level(new_id, outlet) == Decimal(4)
    # Codes are unique across products: a taken code is refused.
    taken = client.post("/api/2.0/products", json={"name": "Copy", "sku": "GB100A", "price_excluding_tax": 1})
    assert taken.status_code == 409 and "error" in taken.json()


def test_put_21_sets_inventory_absolutely(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    product = next(p for p in emulator.products() if p["has_inventory"] and p["sku"] != "vend-discount")
    outlets = [o["id"] for o in emulator.outlets()]
    body = {"details": {"inventory": [{"outlet_id": outlets[0], "current_amount": 21},
                                      {"outlet_id": outlets[1], "current_amount": -3}]}}  # fmt: skip
    r = client.put(f"/api/2.1/products/{product['id']}", json=body)
    assert r.status_code == 200
    levels = {rec["outlet_id"]: rec for rec in client.get(f"/api/2.0/products/{product['id']}/inventory").json()["data"]}
    assert levels[outlets[0]]["inventory_level"] == levels[outlets[0]]["current_amount"] == 21
    assert levels[outlets[1]]["inventory_level"] == -3  # levels may be negative
    # Same again: absolute, not added.
    client.put(f"/api/2.1/products/{product['id']}", json=body)
    assert emulator.inventory_level(product["id"], outlets[0]) == Decimal(21)
    # The inventory change shows up in the /inventory change feed.
    feed, _ = crawl(client, "/api/2.0/inventory", page_size=1000, after=levels[outlets[0]]["version"] - 1)
    assert {(rec["product_id"], rec["outlet_id"]) for rec in feed} >= {(product["id"], outlets[0])}
    unknown_outlet = {"details": {"inventory": [{"outlet_id": "no-such-outlet", "current_amount": 1}]}}
    assert client.put(f"/api/2.1/products/{product['id']}", json=unknown_outlet).status_code == 422
    assert client.put("/api/2.1/products/00000000-0000-4000-8000-000000000000", json=body).status_code == 404
    # ``common`` renames, ``details`` changes the price.
    client.put(f"/api/2.1/products/{product['id']}", json={"common": {"name": "New Name"},
                                                            "details": {"price_excluding_tax": 100}})  # fmt: skip
    renamed = client.get(f"/api/2.0/products/{product['id']}").json()["data"]
    assert renamed["name"] == "New Name" and renamed["price_including_tax"] == 115


def test_seeded_catalogue_has_variant_families_and_untracked_products() -> None:
    emulator = LightspeedEmulator(seed=11, options={"products": 300, "customers": 0})
    products = [p for p in emulator.products() if p["sku"] != "vend-discount"]
    assert len(products) == 300
    variants = [p for p in products if p["variant_parent_id"] or p["has_variants"]]
    assert 25 <= len(variants) <= 40  # about 10% in families of 2-3
    by_id = {p["id"]: p for p in products}
    for child in (p for p in products if p["variant_parent_id"]):
        parent = by_id[child["variant_parent_id"]]
        assert (child["name"], child["handle"]) == (parent["name"], parent["handle"])
        assert child["variant_options"] and child["variant_name"].startswith(child["name"] + " / ")
    assert any(not p["has_inventory"] for p in products)
    assert all(p["sku"].isalnum() for p in products)
    assert len(emulator.outlets()) == 3 and emulator.outlets()[0]["name"] == "Auckland CBD"
    assert {t["name"]: t["rates"][0]["rate"] for t in emulator.taxes()} == {"No Tax": 0, "GST": Decimal("0.15")}
    again = LightspeedEmulator(seed=11, options={"products": 300, "customers": 0})
    assert [p["id"] for p in again.products()] == [p["id"] for p in emulator.products()]
    other = LightspeedEmulator(seed=12, options={"products": 300, "customers": 0})
    assert [p["sku"] for p in other.products()] != [p["sku"] for p in emulator.products()]


# --- sales ----------------------------------------------------------------------------------------


def test_register_sale_takes_stock_once_and_a_void_gives_it_back(
    store: tuple[LightspeedEmulator, httpx.Client, str],
) -> None:
    emulator, client, _ = store
    register = emulator.registers()[1]
    outlet = register["outlet_id"]
    product = next(p for p in emulator.products() if p["has_inventory"] and not p["variant_parent_id"])
    emulator.set_inventory(product["id"], outlet, Decimal(10))
    body = {"register_id": register["id"], "user_id": emulator.store.default_user_id, "status": "CLOSED",
            "sale_date": "2024-05-05 23:35:34", "note": "till 2",
            "register_sale_products": [{"product_id": product["id"], "quantity": 3, "price": 10, "tax": 1.5,
                                        "tax_id": emulator.taxes()[1]["id"]}],
            "register_sale_payments": [{"register_id": register["id"], "amount": 34.5,
                                        "retailer_payment_type_id": emulator.store.default_payment_type_id}]}  # fmt: skip
    r = client.post("/api/register_sales", json=body)
    assert r.status_code == 200
    legacy = r.json()["register_sale"]
    assert legacy["status"] == "CLOSED" and legacy["sale_date"] == "2024-05-05 23:35:34"
    assert legacy["register_sale_products"][0]["sku"] == product["sku"]
    assert emulator.inventory_level(product["id"], outlet) == Decimal(7)
    sale = client.get(f"/api/2.0/sales/{legacy['id']}").json()["data"]
    assert sale["total_price"] == 30 and sale["total_tax"] == 4.5  # total_price is tax exclusive
    assert sale["line_items"][0]["price_total"] == 30 and sale["payments"][0]["amount"] == 34.5
    # Re-posting the closed sale (an update with the same id) does not take the stock twice.
    client.post("/api/register_sales", json={**body, "id": legacy["id"], "note": "edited"})
    assert emulator.inventory_level(product["id"], outlet) == Decimal(7)
    voided = client.post("/api/register_sales", json={**body, "id": legacy["id"], "status": "VOIDED"})
    assert voided.json()["register_sale"]["register_sale_payments"] == []
    assert emulator.inventory_level(product["id"], outlet) == Decimal(10)
    # A closed sale can only be voided; unknown registers and sales are refused the 0.9 way.
    reopen = client.post("/api/register_sales", json={**body, "id": legacy["id"], "status": "SAVED"})
    assert reopen.status_code == 400 and reopen.json()["status"] == "error"
    assert client.post("/api/register_sales", json={**body, "register_id": "nope"}).status_code == 404


def test_ring_up_return_and_void_move_stock_like_a_till(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, _, _ = store
    outlet = emulator.outlets()[2]["id"]
    tracked = next(p for p in emulator.products() if p["has_inventory"] and p["sku"] != "vend-discount")
    emulator.set_inventory(tracked["id"], outlet, Decimal(5))
    customer = emulator.customers()[0]["id"]
    sale = emulator.ring_up_sale(
        outlet,
        [{"product_id": tracked["id"], "quantity": 2, "price": Decimal("20.00"), "discount": Decimal("2.00")}],
        customer_id=customer,
        discount_total=Decimal("6.00"),
    )
    assert emulator.inventory_level(tracked["id"], outlet) == Decimal(3)
    line, discount_line = sale["line_items"]
    assert (line["price"], line["discount"], line["price_total"], line["tax_total"]) == (
        Decimal("18.00"), Decimal("2.00"), Decimal("36.00"), Decimal("5.4000"),
    )  # fmt: skip
    assert discount_line["product_id"] == emulator.store.discount_product_id and discount_line["quantity"] == -1
    assert sale["total_price"] == Decimal("30.00") and sale["total_tax"] == Decimal("4.5000")
    assert sale["payments"][0]["amount"] == Decimal("34.50") and sale["customer_id"] == customer
    refund = emulator.return_sale(sale["id"])
    assert refund["return_for"] == sale["id"] and refund["status"] == "CLOSED"
    assert refund["line_items"][0]["quantity"] == -2 and refund["line_items"][0]["is_return"] is True
    assert refund["total_price"] == -sale["total_price"]
    assert emulator.inventory_level(tracked["id"], outlet) == Decimal(5)
    walk_in = emulator.ring_up_sale(outlet, [{"product_id": tracked["id"], "quantity": 1}], status="LAYBY")
    assert "customer_id" not in walk_in and walk_in["payments"] == []
    assert emulator.inventory_level(tracked["id"], outlet) == Decimal(4)  # lay-by stock leaves the shelf
    parked = emulator.ring_up_sale(outlet, [{"product_id": tracked["id"], "quantity": 1}], status="SAVED")
    assert emulator.inventory_level(tracked["id"], outlet) == Decimal(4)  # a parked sale takes nothing
    emulator.void_sale(walk_in["id"])
    emulator.void_sale(parked["id"])
    assert emulator.inventory_level(tracked["id"], outlet) == Decimal(5)


# --- search ---------------------------------------------------------------------------------------


def test_search_pages_by_offset_and_filters(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    pages: list[str] = []
    offset = 0
    while True:
        data = client.get("/api/2.0/search", params={"type": "products", "offset": offset, "page_size": 15}).json()["data"]
        if not data:
            break
        assert len(data) <= 15
        pages.extend(p["id"] for p in data)
        offset += len(data)
    assert sorted(pages) == sorted(p["id"] for p in emulator.products())
    capped = client.get("/api/2.0/search", params={"type": "products", "page_size": 5000}).json()["data"]
    assert len(capped) == len(pages)  # > 1000 is silently capped, and fewer exist anyway
    sku = emulator.products()[5]["sku"]
    lower = client.get("/api/2.0/search", params={"type": "products", "sku": sku.lower()}).json()["data"]
    assert [p["sku"] for p in lower] == [sku]
    assert client.get("/api/2.0/search", params={"type": "products", "sku": sku.upper()}).json()["data"] == [] or sku.isdigit()
    customer = next(c for c in emulator.customers() if c["email"])
    by_email = client.get("/api/2.0/search", params={"type": "customers", "email": customer["email"]}).json()["data"]
    assert [c["id"] for c in by_email] == [customer["id"]]
    by_code = client.get("/api/2.0/search", params={"type": "customers", "customer_code": customer["customer_code"]})
    assert [c["id"] for c in by_code.json()["data"]] == [customer["id"]]
    outlet = emulator.outlets()[0]["id"]
    sale = emulator.ring_up_sale(outlet, [{"product_id": emulator.products()[3]["id"], "quantity": 1}], status="ONACCOUNT")
    params = [("type", "sales"), ("status", "ONACCOUNT"), ("status", "LAYBY"), ("outlet_id", outlet),
              ("date_from", "2000-01-01T00:00:00Z"), ("order_by", "sale_date"), ("order_direction", "desc")]  # fmt: skip
    found = client.get("/api/2.0/search", params=params).json()["data"]
    assert [s["id"] for s in found] == [sale["id"]]
    future = client.get("/api/2.0/search", params={"type": "sales", "date_from": "2999-01-01T00:00:00Z"})
    assert future.json()["data"] == []


# --- rate limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 60.0])
def test_bursts_past_the_limit_get_429_with_an_http_date(scale: float) -> None:
    # One outlet without registers: 300 x 0 + 50 = 50 requests per 300 emulated seconds.
    with running({"outlets": 1, "registers_per_outlet": 0, "sales": 0}, time_scale=scale) as (emulator, client, url):
        refused: httpx.Response | None = None
        for _ in range(500):
            r = client.get("/api/2.0/outlets")
            assert r.headers["X-RateLimit-Limit"] == "50"
            if r.status_code == 429:
                refused = r
                break
        assert refused is not None
        assert refused.json() == {"error": "Too Many Requests", "message": "Rate limiting enforced"}
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        retry_at = parsedate_to_datetime(refused.headers["Retry-After"])
        assert refused.headers["Retry-After"].endswith(" GMT") and retry_at.tzinfo is not None
        wait = (retry_at - datetime.now(timezone.utc)).total_seconds()
        window = 300.0 / scale  # the window's end, in real seconds
        assert window - 60 <= wait <= window + 2 if scale == 1.0 else -1 <= wait <= window + 2
        # Each app has its own bucket: the personal token still gets through.
        personal = httpx.get(f"{url}/api/2.0/outlets", headers={"Authorization": "Bearer lsxs_pt_demo_personal_token"})
        assert personal.status_code == 200
        emulator.clock.advance(300)  # the next window
        fresh = client.get("/api/2.0/outlets")
        assert fresh.status_code == 200 and fresh.headers["X-RateLimit-Remaining"] == "49"
        emulator.set_rate_limit(False)
        assert all(client.get("/api/2.0/outlets").status_code == 200 for _ in range(60))


def test_rate_limit_headers_are_on_every_api_response(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    responses = [
        client.get("/api/2.0/products", params={"page_size": 2}),
        client.get("/api/2.0/products/00000000-0000-4000-8000-000000000000"),
        client.post("/api/2.0/customers", json={"first_name": "A", "last_name": "B"}),
        client.put("/api/2.1/products/x", json={"details": {}}),
        client.get("/api/2.0/search", params={"type": "nonsense"}),
        client.post("/api/register_sales", json={}),
        client.get("/api/2.0/webhooks"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 201, 404, 400, 400, 200]
    assert responses[1].json()["error"]
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in responses]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == len(remaining)
    assert all(r.headers["X-RateLimit-Limit"] == "950" and int(r.headers["X-RateLimit-Reset"]) > 0 for r in responses)


def test_injected_429_bursts_look_like_real_ones(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    emulator.set_faults(burst_429=1)
    r = client.get("/api/2.0/outlets")
    assert r.status_code == 429 and r.json() == {"error": "Too Many Requests", "message": "Rate limiting enforced"}
    assert parsedate_to_datetime(r.headers["Retry-After"]) >= datetime.now(timezone.utc).replace(microsecond=0)
    assert client.get("/api/2.0/outlets").status_code == 200


# --- webhooks -------------------------------------------------------------------------------------


@contextmanager
def receiver(fail_first: int = 0) -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny webhook receiver recording (headers, raw body); the first ``fail_first`` get 500."""
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        return Response(status_code=500 if len(got) <= fail_first else 200)

    with BackgroundServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as server:
        yield f"{server.url}/hook", got


def _verify(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    expected = hmac.new(b"demo-client-secret", body, hashlib.sha256).hexdigest()
    assert headers["x-signature"] == f"signature={expected},algorithm=HMAC-SHA256"
    form = parse_qs(body.decode())
    assert form["domain_prefix"] == ["demostore"]
    return {"type": form["type"][0], "payload": json.loads(form["payload"][0])}


def test_webhooks_are_signed_and_delivered(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    with receiver() as (url, got):
        for kind in ("inventory.update", "sale.update"):
            r = client.post("/api/2.0/webhooks", json={"url": url, "active": True, "type": kind})
            assert r.status_code == 201 and r.json()["data"]["type"] == kind
        outlet = emulator.outlets()[0]["id"]
        product = next(p for p in emulator.products() if p["has_inventory"] and p["sku"] != "vend-discount")
        put = client.put(f"/api/2.1/products/{product['id']}",
                         json={"details": {"inventory": [{"outlet_id": outlet, "current_amount": 9}]}})  # fmt: skip
        assert put.status_code == 200
        sale = emulator.ring_up_sale(outlet, [{"product_id": product["id"], "quantity": 1}])
        assert emulator.wait_for_webhooks(timeout=10)
        events = [_verify(h, b) for h, b in got]
    kinds = [e["type"] for e in events]
    assert kinds.count("sale.update") == 1 and kinds.count("inventory.update") == 2
    first_inventory = next(e["payload"] for e in events if e["type"] == "inventory.update")
    assert (first_inventory["product_id"], first_inventory["outlet_id"]) == (product["id"], outlet)
    assert {first_inventory["inventory_level"], first_inventory["count"]} <= {9, 8, "9", "8"}
    assert next(e["payload"]["id"] for e in events if e["type"] == "sale.update") == sale["id"]


def test_failed_webhook_deliveries_are_retried() -> None:
    with running({"webhook_backoff": 0.01}) as (emulator, client, _), receiver(fail_first=2) as (url, got):
        client.post("/api/2.0/webhooks", json={"url": url, "active": True, "type": "customer.update"})
        emulator.create_customer("Kiri", "Ngata", email="kiri@example.com")
        assert emulator.wait_for_webhooks(timeout=10)
        assert len(got) == 3 and all(_verify(h, b)["type"] == "customer.update" for h, b in got)
        attempts = [(d["attempt"], d["ok"]) for d in emulator.webhook_deliveries()]
        assert attempts == [(1, False), (2, False), (3, True)]


def test_webhook_management(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    _, client, _ = store
    body = {"url": "http://127.0.0.1:9/hook", "active": True, "type": "product.update"}
    hook = client.post("/api/2.0/webhooks", json=body).json()["data"]
    assert client.post("/api/2.0/webhooks", json=body).status_code == 409  # same type and URL
    # A type outside the documented enum breaks the body's schema: 400 like any such body.
    assert client.post("/api/2.0/webhooks", json={**body, "type": "nonsense"}).status_code == 400
    assert client.put(f"/api/2.0/webhooks/{hook['id']}", json={"active": False}).json()["data"]["active"] is False
    assert [h["id"] for h in client.get("/api/2.0/webhooks").json()["data"]] == [hook["id"]]
    assert client.delete(f"/api/2.0/webhooks/{hook['id']}").status_code == 204
    assert client.get(f"/api/2.0/webhooks/{hook['id']}").status_code == 404



def test_product_webhooks_carry_the_inventory_the_docs_show(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    with receiver() as (url, got):
        client.post("/api/2.0/webhooks", json={"url": url, "active": True, "type": "product.update"})
        outlet = emulator.outlets()[0]["id"]
        created = emulator.create_product("Kete", "KETE1", Decimal("40"), inventory={outlet: Decimal(6)})
        assert emulator.wait_for_webhooks(timeout=10)
        [event] = [_verify(h, b) for h, b in got]
    payload = event["payload"]
    assert payload["id"] == created["id"] and payload["base_name"] == "Kete"
    counts = {inv["outlet_id"]: inv["count"] for inv in payload["inventory"]}
    assert counts[outlet] == "6" and len(counts) == 3  # 1.0 style: numbers as strings


def test_deleted_products_leave_the_list_and_free_their_codes(store: tuple[LightspeedEmulator, httpx.Client, str]) -> None:
    emulator, client, _ = store
    product = emulator.create_product("Old Stock", "OLD1", Decimal("5"))
    assert client.delete(f"/api/2.0/products/{product['id']}").status_code == 200
    live, _ = crawl(client, "/api/2.0/products", page_size=1000)
    assert product["id"] not in {p["id"] for p in live}
    everything = client.get("/api/2.0/products", params={"deleted": "true", "page_size": 1000}).json()["data"]
    assert [p["deleted_at"] is not None for p in everything if p["id"] == product["id"]] == [True]
    reused = client.post("/api/2.0/products", json={"name": "New Stock", "sku": "OLD1", "price_excluding_tax": 5})
    assert reused.status_code == 200
