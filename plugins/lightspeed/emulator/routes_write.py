"""API 2.0/2.1 writes: products (create, update incl. inventory, delete) and customers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .customers import WRITABLE as CUSTOMER_FIELDS
from .errors import Unprocessable
from .http import api_route, empty_response, json_response, read_json
from .money import to_decimal

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator


def _object(body: Any, what: str = "the body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Unprocessable(f"{what} must be a JSON object")
    return body


def _number(value: Any, field: str) -> Any:
    try:
        return to_decimal(value, field)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from exc


def _inventory_items(
    emulator: LightspeedEmulator, items: Any, amount_required: bool
) -> list[dict[str, Any]]:
    """Validate ``inventory: [{outlet_id, current_amount, reorder_point, reorder_amount}]``."""
    if not isinstance(items, list):
        raise Unprocessable("inventory must be a list")
    clean: list[dict[str, Any]] = []
    for item in items:
        item = _object(item, "each inventory entry")
        outlet_id = item.get("outlet_id")
        if not isinstance(outlet_id, str) or outlet_id not in emulator.store.outlets:
            raise Unprocessable(f"outlet {outlet_id!r} does not exist")
        if amount_required and "current_amount" not in item:
            raise Unprocessable("current_amount is required")
        entry: dict[str, Any] = {"outlet_id": outlet_id, "amount": None, "point": None, "restock": None}
        if item.get("current_amount") is not None:
            entry["amount"] = _number(item["current_amount"], "current_amount")
        if item.get("reorder_point") is not None:
            entry["point"] = _number(item["reorder_point"], "reorder_point")
        if item.get("reorder_amount") is not None:
            entry["restock"] = _number(item["reorder_amount"], "reorder_amount")
        clean.append(entry)
    return clean


def _customer_fields(body: dict[str, Any]) -> dict[str, Any]:
    # Read-only fields a client echoes back (id, version, balance...) are ignored, as an API
    # that returns them on GET must tolerate them on PUT (INFERRED).
    return {k: v for k, v in body.items() if k in CUSTOMER_FIELDS}


def _tax_id(section: Mapping[str, Any]) -> str | None:
    tax = section.get("all_outlets_tax")
    if isinstance(tax, Mapping) and isinstance(tax.get("tax_id"), str):
        return tax["tax_id"]
    return None


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:

    async def create_product(request: Request, app: str) -> Response:
        body = _object(await read_json(request))
        with emulator.lock:
            inventory = _inventory_items(emulator, body.get("inventory", []), amount_required=True)
            is_active = body.get("is_active", True)
            product = emulator.store.create_product(
                body.get("name", ""),
                body.get("sku"),
                body.get("price_excluding_tax"),
                price_including_tax=body.get("price_including_tax"),
                supply_price=body.get("supply_price"),
                description=body.get("description", "") or "",
                product_codes=body.get("product_codes"),
                handle=body.get("handle"),
                tax_id=_tax_id(body),
                is_active=bool(is_active),
                inventory={e["outlet_id"]: e["amount"] for e in inventory},
                reorder={e["outlet_id"]: (e["point"], e["restock"]) for e in inventory},
            )
            # https://x-series-api.lightspeedhq.com/reference / spec: 200 with the new product's id in a list.
            return json_response({"data": [product["id"]]})

    async def update_product(request: Request, app: str) -> Response:
        body = _object(await read_json(request))
        common = _object(body.get("common") or {}, "common")
        details = _object(body.get("details") or {}, "details")
        with emulator.lock:
            product = emulator.store.require_product(request.path_params["product_id"])
            # Validate the whole body before changing anything (422 leaves the product as is).
            inventory = _inventory_items(emulator, details.get("inventory", []), amount_required=False)
            tracked = bool(common.get("track_inventory", product["has_inventory"])) and not product["is_composite"]
            if inventory and not tracked:
                if emulator.opts.untracked_inventory_write == "refuse":
                    raise Unprocessable(f"product {product['sku']} does not track inventory: "
                                        "its stock cannot be set")
                inventory = []  # "ignore": nothing is kept for a product without stock
            own: dict[str, Any] = {}
            for key in ("product_codes", "sku", "price_excluding_tax", "price_including_tax",
                        "supply_price", "loyalty_amount", "supplier_code"):  # fmt: skip
                if key in details:
                    own[key] = details[key]
            if "is_active" in details:
                own["is_active"] = bool(details["is_active"])
            if _tax_id(details):
                own["tax_id"] = _tax_id(details)
            family: dict[str, Any] = {}
            for key in ("name", "description", "handle"):
                if key in common:
                    family[key] = common[key]
            if "track_inventory" in common:
                family["has_inventory"] = bool(common["track_inventory"])
            if "name" in family and (not isinstance(family["name"], str) or not family["name"].strip()):
                raise Unprocessable("name cannot be empty")
            if own:
                emulator.store.update_product(product["id"], **own)
            if family:
                # https://x-series-api.lightspeedhq.com/docs/inventory_updates: ``common`` applies to the whole family,
                # ``details`` to this variant.
                for member in emulator.store.family_of(product) or [product]:
                    emulator.store.update_product(member["id"], **family)
            for entry in inventory:
                emulator.store.set_inventory(
                    product["id"],
                    entry["outlet_id"],
                    entry["amount"],
                    None if entry["point"] == -1 else entry["point"],
                    entry["restock"],
                    # https://x-series-api.lightspeedhq.com/docs/inventory_updates: -1 clears it
                    clear_reorder_point=entry["point"] == -1,
                )
        # https://x-series-api.lightspeedhq.com/reference: 200, and the body may be {} (Postman
        # example); do not promise more.
        return json_response({})

    async def delete_product(request: Request, app: str) -> Response:
        with emulator.lock:
            emulator.store.delete_product(emulator.store.require_product(request.path_params["product_id"])["id"])
        return json_response({})  # spec: 200 "OK"

    async def create_customer(request: Request, app: str) -> Response:
        body = _object(await read_json(request))
        if "first_name" not in body or "last_name" not in body:
            raise Unprocessable("first_name and last_name are required")  # CustomerBase.required
        fields = _customer_fields(body)
        with emulator.lock:
            customer = emulator.store.create_customer(fields.pop("first_name"), fields.pop("last_name"), **fields)
            return json_response({"data": customer}, 201)

    async def update_customer(request: Request, app: str) -> Response:
        body = _object(await read_json(request))
        with emulator.lock:
            customer = emulator.store.update_customer(request.path_params["customer_id"], **_customer_fields(body))
            return json_response({"data": customer})

    async def delete_customer(request: Request, app: str) -> Response:
        with emulator.lock:
            emulator.store.delete_customer(request.path_params["customer_id"])
        return empty_response(204)

    return [
        api_route(emulator, "/api/2.0/products", create_product, ["POST"]),
        api_route(emulator, "/api/2.1/products/{product_id}", update_product, ["PUT"]),
        api_route(emulator, "/api/2.0/products/{product_id}", delete_product, ["DELETE"]),
        api_route(emulator, "/api/2.0/customers", create_customer, ["POST"]),
        api_route(emulator, "/api/2.0/customers/{customer_id}", update_customer, ["PUT"]),
        api_route(emulator, "/api/2.0/customers/{customer_id}", delete_customer, ["DELETE"]),
    ]
