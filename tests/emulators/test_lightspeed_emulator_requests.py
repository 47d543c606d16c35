"""The Lightspeed emulator refuses the write bodies the real API refuses: each body is checked
against the official schema (the 2.0 OpenAPI file; the 2.1 product update and the webhooks from
the vendor's reference), answered 400 ``{"error", "message", "details"}``, nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from tillbridge.emulation import BackgroundServer
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_lightspeed.emulator import request_schemas

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "api-specs" / "lightspeed-xseries-api-2.0.json"
#: Write routes without a published JSON body schema: 0.9 register sales, the form-encoded token.
NO_SCHEMA = {("POST", "/api/register_sales"), ("POST", "/api/1.0/token")}


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[LightspeedEmulator, httpx.Client]]:
    emulator = LightspeedEmulator(seed=4, options={"products": 12, "customers": 3})
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            yield emulator, client
    emulator.close()


def test_every_write_route_with_a_body_has_its_schema() -> None:
    emulator = LightspeedEmulator(seed=1, options={"products": 2, "customers": 1})
    writes = {(m, r.path) for r in emulator.routes() if isinstance(r, Route) and "{rest:path}" not in r.path
              for m in (r.methods or ()) if m in {"POST", "PUT", "PATCH"}}
    assert writes - NO_SCHEMA == set(request_schemas.BODIES)
    for method, route in request_schemas.BODIES:
        assert request_schemas.validator(method, route) is not None


def test_the_packaged_spec_is_the_official_file() -> None:
    packaged = Path(request_schemas.__file__).parent / "specs" / FIXTURE.name
    assert packaged.read_bytes() == FIXTURE.read_bytes()


def wrong_bodies(emulator: LightspeedEmulator) -> list[tuple[str, str, dict[str, Any], str]]:
    product = next(p for p in emulator.products() if p["sku"] != "vend-discount")
    customer = emulator.customers()[0]
    outlet = emulator.outlets()[0]["id"]
    return [
        # (method, path, body, the field named in the refusal)
        ("POST", "/api/2.0/products", {"name": "Tea", "sku": "TEA-1", "price_excluding_tax": "4.50"},
         "price_excluding_tax"),  # a price as a string: the spec types it number
        ("POST", "/api/2.0/products", {"sku": "TEA-2", "price_excluding_tax": 4}, "(body)"),  # no name
        ("POST", "/api/2.0/products", {"name": "Tea", "weight_unit": "STONE"}, "weight_unit"),  # out of enum
        ("PUT", f"/api/2.1/products/{product['id']}", {"details": {"price_excluding_tax": "9.99"}},
         "details.price_excluding_tax"),
        ("PUT", f"/api/2.1/products/{product['id']}",
         {"details": {"inventory": [{"outlet_id": outlet, "current_amount": "7"}]}},
         "details.inventory.0.current_amount"),
        ("PUT", f"/api/2.1/products/{product['id']}", {"details": {"inventory": [{"current_amount": 7}]}},
         "details.inventory.0"),  # outlet_id is required
        ("POST", "/api/2.0/customers", {"first_name": "Aroha"}, "(body)"),  # last_name required
        ("PUT", f"/api/2.0/customers/{customer['id']}",
         {"first_name": "Aroha", "last_name": "Ngata", "do_not_email": "yes"}, "do_not_email"),
        ("POST", "/api/2.0/webhooks", {"url": "http://127.0.0.1:9/h", "active": True, "type": "sale.created"},
         "type"),
        ("PUT", "/api/2.0/webhooks/any", {"active": "no"}, "active"),
        ("POST", "/api/2.0/consignments", {"data": {"name": "c", "outlet_id": outlet, "type": "COUNT"}},
         "data.type"),  # out of enum
        ("PUT", "/api/2.0/consignments/any", {"data": {"outlet_id": outlet, "type": "STOCKTAKE"}}, "data"),
        ("POST", "/api/2.0/consignments/any/bulk", [{"product_id": product["id"], "received": 3}],
         "0.received"),  # the spec types counts as strings
    ]


def test_each_write_endpoint_refuses_a_wrong_body_and_changes_nothing(
        api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    cases = wrong_bodies(emulator)
    assert {(m, _route(p)) for m, p, _, _ in cases} == set(request_schemas.BODIES)  # one per endpoint at least
    before = emulator.store.version
    for method, path, body, field in cases:
        answer = client.request(method, path, json=body)
        assert answer.status_code == 400, (method, path, answer.text)
        got = answer.json()
        assert got["error"] == "Bad Request" and got["message"], got
        assert field in [d["field"] for d in got["details"]], (path, got)
    assert emulator.store.version == before  # nothing was written


def test_right_bodies_still_pass_with_exact_decimal_prices(api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    created = client.post("/api/2.0/products", content=b'{"name":"Tea","sku":"TEA-9","price_excluding_tax":4.12345}',
                          headers={"Content-Type": "application/json"})
    assert created.status_code == 200, created.text
    product = emulator.get_product(created.json()["data"][0])
    assert product is not None and product["price_excluding_tax"] == Decimal("4.12345")


def test_a_product_without_inventory_refuses_stock(api: tuple[LightspeedEmulator, httpx.Client]) -> None:
    emulator, client = api
    outlet = emulator.outlets()[0]["id"]
    service = emulator.create_product("Gift wrapping", "WRAP", Decimal(3), has_inventory=False)
    answer = client.put(f"/api/2.1/products/{service['id']}",
                        json={"details": {"inventory": [{"outlet_id": outlet, "current_amount": 5}]}})
    assert answer.status_code == 422 and "does not track inventory" in answer.json()["message"]
    assert emulator.inventory_level(service["id"], outlet) == 0
    # Its price can still be changed.
    assert client.put(f"/api/2.1/products/{service['id']}",
                      json={"details": {"price_excluding_tax": 3.5}}).status_code == 200


def test_the_ignore_option_answers_ok_and_keeps_no_stock() -> None:
    emulator = LightspeedEmulator(seed=2, options={"products": 2, "customers": 1,
                                                   "untracked_inventory_write": "ignore"})
    service = emulator.create_product("Gift wrapping", "WRAP", Decimal(3), has_inventory=False)
    outlet = emulator.outlets()[0]["id"]
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()["access_token"]
        answer = httpx.put(f"{server.url}/api/2.1/products/{service['id']}", headers={"Authorization": f"Bearer {token}"},
                           json={"details": {"inventory": [{"outlet_id": outlet, "current_amount": 5}]}})
    emulator.close()
    assert answer.status_code == 200 and emulator.inventory_level(service["id"], outlet) == 0


def _route(path: str) -> str:
    for method_route in request_schemas.BODIES:
        template = method_route[1]
        head, _, rest = template.partition("{")
        tail = rest.partition("}")[2]
        if path == template or ("{" in template and path.startswith(head) and path.endswith(tail)
                                and "/" not in path[len(head):len(path) - len(tail)]):
            return template
    return path
