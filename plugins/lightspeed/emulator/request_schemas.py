"""Every write body checked against the official schema before the store sees it.

The schemas are the 2.0 OpenAPI file Lightspeed publishes (``specs/lightspeed-xseries-api-2.0.json``,
OpenAPI 3.0.1; the request body of each operation) and, for what that file does not cover (the
2.1 product update, the 2.0 webhooks), ``specs/lightspeed-request-bodies.json`` written from the
vendor's reference pages it cites. Both ship with the package, so an installed ``tillbridge demo``
validates as the tests do.

OpenAPI 3.0 schemas are JSON Schema draft 4 but for ``nullable: true``, turned here into a
``[type, "null"]`` union (``anyOf`` with null for a ``$ref``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_URI = "urn:lightspeed-xseries-api-2.0"
EXTRA_URI = "urn:tillbridge:lightspeed-request-bodies"

#: (method, emulator route) → where its body schema is: a 2.0 OpenAPI operation (path, method)
#: or a schema of the extra file. Every write route the emulator serves with a body is here
#: (a test checks it); 0.9 ``POST /api/register_sales`` has no published schema.
BODIES: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/api/2.0/products"): ("openapi", "/products post"),
    ("PUT", "/api/2.1/products/{product_id}"): ("extra", "ProductUpdate21Request"),
    ("POST", "/api/2.0/customers"): ("openapi", "/customers post"),
    ("PUT", "/api/2.0/customers/{customer_id}"): ("openapi", "/customers/{customer_id} put"),
    ("POST", "/api/2.0/webhooks"): ("extra", "WebhookCreate"),
    ("PUT", "/api/2.0/webhooks/{webhook_id}"): ("extra", "WebhookUpdate"),
    ("POST", "/api/2.0/consignments"): ("openapi", "/consignments post"),
    ("PUT", "/api/2.0/consignments/{consignment_id}"): ("openapi", "/consignments/{consignment_id} put"),
    ("POST", "/api/2.0/consignments/{consignment_id}/bulk"): ("openapi", "/consignments/{consignment_id}/bulk post"),
}


def openapi_to_json_schema(node: Any) -> Any:
    """Turn OpenAPI 3.0 ``nullable: true`` into JSON Schema unions, recursively."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_json_schema(value) for key, value in node.items()}
    if out.get("nullable") is True:  # a property *named* nullable would hold a dict, not True
        del out["nullable"]
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


def _load(name: str) -> Any:
    text = resources.files(__package__).joinpath("specs", name).read_text(encoding="utf-8")
    return openapi_to_json_schema(json.loads(text))


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The 2.0 OpenAPI document, ``nullable`` already turned into unions."""
    return _load("lightspeed-xseries-api-2.0.json")


@lru_cache(maxsize=1)
def registry() -> Registry:
    return Registry().with_resources([
        (SPEC_URI, Resource.from_contents(spec(), default_specification=DRAFT4)),
        (EXTRA_URI, Resource.from_contents(_load("lightspeed-request-bodies.json"), default_specification=DRAFT4)),
    ])


@lru_cache(maxsize=None)
def validator(method: str, route: str) -> Draft4Validator | None:
    """The validator of a route's request body; ``None`` for a route without a body schema."""
    where = BODIES.get((method, route))
    if where is None:
        return None
    kind, name = where
    if kind == "openapi":
        path, verb = name.rsplit(" ", 1)
        operation = spec()["paths"][path][verb]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        ref = f"{SPEC_URI}#/paths/{_pointer(path)}/{verb}/requestBody/content/application~1json/schema"
        if "$ref" in schema:
            ref = SPEC_URI + schema["$ref"]
    else:
        ref = f"{EXTRA_URI}#/{name}"
    return Draft4Validator({"$ref": ref}, registry=registry())


def problems(method: str, route: str, body: Any) -> list[dict[str, str]]:
    """What is wrong with ``body`` for this route: ``[{"field", "message"}]``, empty when valid."""
    check = validator(method, route)
    if check is None:
        return []
    errors = sorted(check.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [{"field": ".".join(str(p) for p in e.absolute_path) or "(body)", "message": e.message}
            for e in errors[:20]]


def _pointer(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")
