"""API 2.0 reads: version-cursor collections, single records, inventory, versions, retailer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .errors import NotFound
from .http import Handler, api_route, json_response, query_bool, query_int
from .versioned import Record

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator

#: Collections listed with the version cursor, and whether the spec documents ``deleted``
#: (https://x-series-api.lightspeedhq.com/docs/pagination: /inventory and /sales do not list it).
LISTS: dict[str, bool] = {
    "outlets": True,
    "registers": True,
    "products": True,
    "inventory": False,
    "customers": True,
    "sales": False,
    "taxes": False,
    "users": False,
    "payment_types": False,
}
#: Collections with ``GET /api/2.0/{collection}/{id}``.
SINGLES = ("products", "customers", "sales", "outlets", "registers", "users")
_WHAT = {"products": "product", "customers": "customer", "sales": "sale", "outlets": "outlet",
         "registers": "register", "users": "user"}  # fmt: skip


def _page_body(emulator: LightspeedEmulator, records: list[Record]) -> dict[str, Any]:
    body: dict[str, Any] = {"data": records}
    if records:
        body["version"] = {"min": records[0]["version"], "max": records[-1]["version"]}
    elif emulator.opts.empty_page_version == "null":
        # as the 2026-07 date version does (https://x-series-api.lightspeedhq.com/docs/pagination)
        body["version"] = {"min": None, "max": None}
    return body


def _page_params(emulator: LightspeedEmulator, request: Request,
                 collection: str = "") -> tuple[int, int | None, int]:
    opts = emulator.opts
    after = query_int(request, "after", 0) or 0
    before = query_int(request, "before")
    size = query_int(request, "page_size", opts.default_page_size, minimum=1) or opts.default_page_size
    cap = opts.sales_max_page_size if collection == "sales" else opts.max_page_size
    return after, before, min(size, cap)


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:

    def list_handler(name: str, supports_deleted: bool) -> Handler:
        async def handler(request: Request, app: str) -> Response:
            if name == "products":
                lookup = _product_lookup(emulator, request)
                if lookup is not None:
                    return lookup
            after, before, size = _page_params(emulator, request, name)
            deleted = supports_deleted and query_bool(request, "deleted")
            with emulator.lock:
                records = emulator.store.collections[name].page(after, before, size, deleted)
                return json_response(_page_body(emulator, records))

        return handler

    def single_handler(name: str) -> Handler:
        async def handler(request: Request, app: str) -> Response:
            with emulator.lock:
                # Soft-deleted records are still returned, with ``deleted_at`` set (INFERRED).
                record = emulator.store.collections[name].get(request.path_params["record_id"])
                if record is None:
                    raise NotFound(f"{_WHAT[name]} not found")
                return json_response({"data": record})

        return handler

    async def product_inventory(request: Request, app: str) -> Response:
        after, before, _ = _page_params(emulator, request)
        with emulator.lock:
            product_id = request.path_params["record_id"]
            if emulator.store.products.get(product_id) is None:
                raise NotFound("product not found")
            records = [
                r
                for r in emulator.store.inventory_of(product_id)
                if r["version"] > after and (before is None or r["version"] < before)
            ]
            records.sort(key=lambda r: r["version"])
            return json_response(_page_body(emulator, records))

    async def versions(request: Request, app: str) -> Response:
        with emulator.lock:
            return json_response({"data": emulator.store.versions()})

    async def retailer(request: Request, app: str) -> Response:
        with emulator.lock:
            return json_response({"data": emulator.store.retailer})

    out: list[BaseRoute] = []
    for name, supports_deleted in LISTS.items():
        out.append(api_route(emulator, f"/api/2.0/{name}", list_handler(name, supports_deleted), ["GET"]))
    out.append(api_route(emulator, "/api/2.0/products/{record_id}/inventory", product_inventory, ["GET"]))
    for name in SINGLES:
        out.append(api_route(emulator, f"/api/2.0/{name}/{{record_id}}", single_handler(name), ["GET"]))
    out.append(api_route(emulator, "/api/2.0/versions", versions, ["GET"]))
    out.append(api_route(emulator, "/api/2.0/retailer", retailer, ["GET"]))
    return out


def _product_lookup(emulator: LightspeedEmulator, request: Request) -> Response | None:
    """``?sku=`` (any product code) and ``?name=``/``?family_name=`` (a family): the spec says
    all other query parameters are then ignored."""
    params = request.query_params
    with emulator.lock:
        if "sku" in params:
            product = emulator.store.product_by_code(params["sku"])
            found = [product] if product is not None and product.get("deleted_at") is None else []
        elif "name" in params or "family_name" in params:
            name = params.get("name", params.get("family_name", ""))
            found = [p for p in emulator.store.products.values() if p["name"] == name and p.get("deleted_at") is None]
        else:
            return None
        return json_response(_page_body(emulator, found))
