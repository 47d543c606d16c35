"""Responses of the Lightspeed emulator validated against the official API 2.0 OpenAPI document
(tests/fixtures/api-specs/lightspeed-xseries-api-2.0.json, OpenAPI 3.0.1).

OpenAPI 3.0 schemas are nearly JSON Schema draft 4; the one difference that matters here is
``nullable: true``, which becomes a ``[type, "null"]`` union (or ``anyOf`` with null for a
``$ref``) before validating. ``$ref``s resolve through a ``referencing`` registry holding the
whole document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tillbridge.emulation import BackgroundServer
from tillbridge_lightspeed.emulator import LightspeedEmulator
from tillbridge_lightspeed.emulator.request_schemas import openapi_to_json_schema  # the emulator's own

SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "api-specs" / "lightspeed-xseries-api-2.0.json"
SPEC_URI = "urn:lightspeed-xseries-api-2.0"


@pytest.fixture(scope="module")
def registry() -> Registry:
    spec = openapi_to_json_schema(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4))


def validate(registry: Registry, instance: Any, schema_name: str) -> None:
    validator = Draft4Validator({"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}, registry=registry)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[LightspeedEmulator, httpx.Client]]:
    """A store with every kind of sale the schemas must cover: paid, discounted, walk-in,
    on account, lay-by, voided and returned."""
    emulator = LightspeedEmulator(seed=5, options={"products": 60, "customers": 10, "sales": 12})
    outlet = emulator.outlets()[0]["id"]
    products = [p for p in emulator.products() if p["sku"] != "vend-discount"]
    customer = emulator.customers()[0]["id"]
    sold = emulator.ring_up_sale(
        outlet,
        [{"product_id": products[0]["id"], "quantity": 2, "discount": Decimal("1.5")}],
        customer_id=customer,
        discount_total=Decimal("3"),
    )
    emulator.return_sale(sold["id"])
    emulator.void_sale(emulator.ring_up_sale(outlet, [{"product_id": products[1]["id"], "quantity": 1}])["id"])
    emulator.ring_up_sale(outlet, [{"product_id": products[2]["id"], "quantity": 1}], status="ONACCOUNT", customer_id=customer)
    emulator.ring_up_sale(outlet, [{"product_id": products[3]["id"], "quantity": 1}], status="LAYBY", note="deposit later")
    emulator.update_customer(customer, date_of_birth="1990-04-01", gender="F", company_name="Kauri Ltd")
    with BackgroundServer(emulator) as server:
        token = emulator.issue_token()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            yield emulator, client
    emulator.close()


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    ("path", "schema", "least"),
    [
        ("/api/2.0/outlets", "OutletCollection", 3),
        ("/api/2.0/registers", "RegisterCollection", 3),
        ("/api/2.0/products", "ProductCollection", 60),
        ("/api/2.0/inventory", "InventoryCollection", 180),
        ("/api/2.0/customers", "CustomerCollection", 10),
        ("/api/2.0/sales", "SaleCollection", 16),
        ("/api/2.0/taxes", "TaxCollection", 2),
        ("/api/2.0/users", "UserCollection", 1),
        ("/api/2.0/payment_types", "PaymentTypeCollection", 1),
    ],
)
def test_collections_match_the_spec(
    api: tuple[LightspeedEmulator, httpx.Client], registry: Registry, path: str, schema: str, least: int
) -> None:
    _, client = api
    body = get(client, path, page_size=10000)
    assert len(body["data"]) >= least  # validating an empty list would prove nothing
    validate(registry, body, schema)


def test_single_records_match_the_spec(api: tuple[LightspeedEmulator, httpx.Client], registry: Registry) -> None:
    emulator, client = api
    cases = [
        ("outlets", emulator.outlets()[0]["id"], "OutletResponse"),
        ("products", emulator.products()[7]["id"], "ProductResponse"),
        ("customers", emulator.customers()[0]["id"], "CustomerResponse"),
        ("registers", emulator.registers()[0]["id"], "RegisterResponse"),
    ]
    cases += [("sales", sale["id"], "SaleResponse") for sale in emulator.sales()]
    for collection, record_id, schema in cases:
        validate(registry, get(client, f"/api/2.0/{collection}/{record_id}"), schema)
    variant = next(p for p in emulator.products() if p["variant_parent_id"])
    validate(registry, get(client, f"/api/2.0/products/{variant['id']}"), "ProductResponse")
    inventory = get(client, f"/api/2.0/products/{variant['id']}/inventory")
    assert len(inventory["data"]) == 3
    validate(registry, inventory, "InventoryCollection")
    validate(registry, get(client, "/api/2.0/retailer"), "RetailerResponse")


def test_written_records_match_the_spec(api: tuple[LightspeedEmulator, httpx.Client], registry: Registry) -> None:
    emulator, client = api
    created = client.post("/api/2.0/customers", json={"first_name": None, "last_name": "Walker", "note": None})
    assert created.status_code == 201
    validate(registry, created.json(), "CustomerResponse")
    outlet = emulator.outlets()[1]["id"]
    new = client.post(
        "/api/2.0/products",
        json={"name": "Flax Basket", "sku": "FB1", "price_including_tax": 45,
              "inventory": [{"outlet_id": outlet, "current_amount": 2, "reorder_point": 1}]},  # fmt: skip
    )
    [product_id] = new.json()["data"]
    validate(registry, get(client, f"/api/2.0/products/{product_id}"), "ProductResponse")
    validate(registry, get(client, f"/api/2.0/products/{product_id}/inventory"), "InventoryCollection")


@pytest.mark.parametrize(("kind", "item_schema"), [("products", "Product"), ("customers", "Customer"), ("sales", "Sale")])
def test_search_results_match_the_spec(
    api: tuple[LightspeedEmulator, httpx.Client], registry: Registry, kind: str, item_schema: str
) -> None:
    _, client = api
    body = get(client, "/api/2.0/search", type=kind, page_size=1000)
    assert body["data"] and set(body) == {"data"}
    validate(registry, body, "SearchResponse")
    for item in body["data"]:
        validate(registry, item, item_schema)


def test_the_validator_does_reject_a_wrong_shape(registry: Registry) -> None:
    """Guard against a validator that accepts anything (e.g. unresolved refs)."""
    with pytest.raises(AssertionError):
        validate(registry, {"data": [{"id": "x", "inventory_level": "lots"}]}, "InventoryCollection")
    with pytest.raises(AssertionError):
        validate(registry, {"data": [{"name": "n", "handle": "h"}]}, "ProductCollection")  # sku is required
    validate(registry, {"data": [{"name": "n", "handle": "h", "sku": None}]}, "ProductCollection")  # nullable
