"""Inventory counts: ``STOCKTAKE`` consignments
(https://x-series-api.lightspeedhq.com/reference/createorupdateconsignmentproducts,
https://x-series-api.lightspeedhq.com/docs/inventory_creating_inventory_counts).

Vendor references: https://x-series-api.lightspeedhq.com/reference/createconsignment,
https://x-series-api.lightspeedhq.com/reference/createorupdateconsignmentproducts (bulk, "keep
batches of at most 500") and https://x-series-api.lightspeedhq.com/docs/inventory_creating_inventory_counts
(the workflow and its warning: a count with no filters, completed, resets every product to 0).

Modelled:
- ``POST /api/2.0/consignments`` ``{"data": {name, outlet_id, type, status, filters?}}`` → 201.
  A ``STOCKTAKE`` starts ``STOCKTAKE_SCHEDULED`` or ``STOCKTAKE_IN_PROGRESS``. ``filters``
  restrict the count to products; the 2.0 OpenAPI does not describe them, so the shape
  ``[{"type": "product", "value": "<product id>"}]`` is INFERRED (other filter types, brands or
  tags, are refused with 422: not modelled). Without filters every tracked product is included.
- ``POST /consignments/{id}/bulk``: a JSON array of ``ConsignmentProduct``; every item needs
  ``count`` or ``received``; more than ``stocktake_bulk_limit`` (500) items → 400, nothing kept.
  For a count ``received`` is the counted quantity (the spec: "Observed item count") and it
  **accumulates** like scans at the till (INFERRED from the supplier-order rule of
  https://x-series-api.lightspeedhq.com/reference/createorupdateconsignmentproducts): a
  client must never re-send a bulk call blindly.
- Processing is asynchronous: once ``STOCKTAKE_IN_PROGRESS`` and after each bulk add, the status
  reads ``STOCKTAKE_IN_PROGRESS_PROCESSED`` only ``stocktake_processing_seconds`` (emulated, so
  scaled by the time scale) later; completing before that is refused (422).
- ``PUT /consignments/{id}`` ``status: STOCKTAKE_COMPLETE`` applies the counts as the new
  on-hand level of every *included* product (0 for an included product not counted: the
  documented reset) and of every counted product; ``CANCELLED`` drops it, nothing applied.
  The count is absolute: a sale made while the count was open is not deducted (the stricter of
  the possibilities; the docs do not say).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .errors import BadRequest, NotFound, Unprocessable
from .http import api_route, json_response, read_json

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator

STOCKTAKE_STARTS = {"STOCKTAKE_SCHEDULED", "STOCKTAKE_IN_PROGRESS"}
FINISHED = {"STOCKTAKE_COMPLETE", "CLOSED", "CANCELLED"}


def _quantity(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Unprocessable(f"{field} must be a numeric string") from exc


class Consignments:
    """The consignments of one emulated retailer (called under the emulator's lock)."""

    def __init__(self, emulator: LightspeedEmulator) -> None:
        self.emulator = emulator
        self.items: dict[str, dict[str, Any]] = {}
        # consignment id -> product id -> consignment product
        self.products: dict[str, dict[str, dict[str, Any]]] = {}
        # consignment id -> emulated time at which processing ends (None: not in progress)
        self.ready_at: dict[str, float | None] = {}

    @property
    def store(self) -> Any:
        return self.emulator.store

    def _now(self) -> float:
        return self.emulator.clock.time()

    def _refresh(self, c: dict[str, Any]) -> dict[str, Any]:
        ready = self.ready_at.get(c["id"])
        if c["status"] == "STOCKTAKE_IN_PROGRESS" and ready is not None and self._now() >= ready:
            c["status"] = "STOCKTAKE_IN_PROGRESS_PROCESSED"
        return c

    def _start_processing(self, c: dict[str, Any]) -> None:
        c["status"] = "STOCKTAKE_IN_PROGRESS"
        self.ready_at[c["id"]] = self._now() + self.emulator.opts.stocktake_processing_seconds

    def require(self, consignment_id: str) -> dict[str, Any]:
        c = self.items.get(consignment_id)
        if c is None or c.get("deleted_at"):
            raise NotFound("consignment not found")
        return self._refresh(c)

    def view(self, c: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in c.items() if not k.startswith("_")}

    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        store = self.store
        if data.get("outlet_id") not in store.outlets:
            raise Unprocessable(f"outlet {data.get('outlet_id')!r} does not exist")
        if data.get("type") != "STOCKTAKE":
            raise Unprocessable("the emulator models STOCKTAKE consignments only")
        status = data.get("status") or "STOCKTAKE_SCHEDULED"
        if status not in STOCKTAKE_STARTS:
            raise Unprocessable(f"a new inventory count cannot be {status}")
        filters = data.get("filters")
        included: list[str] | None = None
        if filters is not None:
            if not isinstance(filters, list) or not filters:
                raise Unprocessable("filters must be a non-empty list")
            included = []
            for f in filters:
                if not isinstance(f, dict) or f.get("type") != "product" or not isinstance(f.get("value"), str):
                    raise Unprocessable("each filter must be {\"type\": \"product\", \"value\": <product id>}")
                store.require_product(f["value"])
                included.append(f["value"])
        now = store.now()
        store.version += 1
        c: dict[str, Any] = {
            "id": store.new_id(), "outlet_id": data["outlet_id"], "name": data.get("name", ""),
            "type": "STOCKTAKE", "status": "STOCKTAKE_SCHEDULED", "reference": data.get("reference"),
            "consignment_date": now, "due_at": None, "received_at": None, "show_inactive": False,
            "created_at": now, "updated_at": now, "deleted_at": None, "version": store.version,
            "_included": included, "_included_set": None if included is None else set(included),
        }
        self.items[c["id"]] = c
        self.products[c["id"]] = {}
        self.ready_at[c["id"]] = None
        if status == "STOCKTAKE_IN_PROGRESS":
            self._start_processing(c)
        return c

    def bulk(self, c: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        limit = self.emulator.opts.stocktake_bulk_limit
        if len(items) > limit:
            raise BadRequest(f"at most {limit} products can be sent in one bulk request, got {len(items)}")
        if c["status"] in FINISHED:
            raise Unprocessable(f"consignment is {c['status']}: its products cannot change")
        clean = []
        for item in items:  # validate all before keeping any
            self.store.require_product(item["product_id"])
            if item.get("count") is None and item.get("received") is None:
                raise Unprocessable("each product needs count or received")
            clean.append((item["product_id"],
                          _quantity(item["count"], "count") if item.get("count") is not None else None,
                          _quantity(item["received"], "received") if item.get("received") is not None else None))
        lines = self.products[c["id"]]
        out: dict[str, Any] = {}
        for product_id, count, received in clean:
            line = lines.setdefault(product_id, {"product_id": product_id, "count": None, "received": None,
                                                 "is_included": self._included(c, product_id), "status": "PENDING"})
            if count is not None:
                line["count"] = count
            if received is not None:
                line["received"] = (line["received"] or Decimal(0)) + received
            out[product_id] = {k: str(line[k]) for k in ("count", "received") if line[k] is not None}
        if c["status"] in {"STOCKTAKE_IN_PROGRESS", "STOCKTAKE_IN_PROGRESS_PROCESSED"}:
            self._start_processing(c)  # new counts need processing again
        self._touch(c)
        return out

    def _included(self, c: dict[str, Any], product_id: str) -> bool:
        return c["_included_set"] is None or product_id in c["_included_set"]

    def _touch(self, c: dict[str, Any]) -> None:
        self.store.version += 1
        c["version"] = self.store.version
        c["updated_at"] = self.store.now()

    def update(self, c: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        status = data.get("status")
        if status is None or status == c["status"]:
            return c
        if c["status"] in FINISHED:
            raise Unprocessable(f"consignment is {c['status']}")
        if status == "STOCKTAKE_IN_PROGRESS":
            self._start_processing(c)
        elif status == "CANCELLED":
            c["status"] = "CANCELLED"
        elif status == "STOCKTAKE_COMPLETE":
            if c["status"] != "STOCKTAKE_IN_PROGRESS_PROCESSED":
                raise Unprocessable("the inventory count is still being processed: wait until its status "
                                    "is STOCKTAKE_IN_PROGRESS_PROCESSED")
            self._apply(c)
            c["status"] = "STOCKTAKE_COMPLETE"
            c["received_at"] = self.store.now()
        else:
            raise Unprocessable(f"an inventory count cannot move from {c['status']} to {status}")
        self._touch(c)
        return c

    def _apply(self, c: dict[str, Any]) -> None:
        store = self.store
        lines = self.products[c["id"]]
        if c["_included"] is None:  # the documented warning: everything not counted goes to 0
            targets = [p["id"] for p in store.products.values()
                       if p.get("has_inventory") and not p.get("is_composite") and not p.get("deleted_at")]
        else:
            targets = list(c["_included"])
        known = set(targets)
        targets += [pid for pid in lines if pid not in known]
        for product_id in targets:
            product = store.products.get(product_id)
            if product is None or not product.get("has_inventory") or product.get("is_composite"):
                # no stock of its own: a count cannot give it any (INFERRED, as
                # https://x-series-api.lightspeedhq.com/docs/inventory_updates)
                continue
            line = lines.get(product_id)
            counted = line["received"] if line and line["received"] is not None else Decimal(0)
            store.set_inventory(product_id, c["outlet_id"], counted)
            if line:
                line["status"] = "SUCCESS"

    def delete(self, c: dict[str, Any]) -> None:
        if c["status"] == "STOCKTAKE_COMPLETE":
            raise Unprocessable("a completed inventory count cannot be deleted")
        c["deleted_at"] = self.store.now()
        self._touch(c)


def book(emulator: LightspeedEmulator) -> Consignments:
    """The consignments of the emulator's current store (a new seed starts a new book)."""
    current = getattr(emulator.store, "_consignments", None)
    if current is None:
        current = Consignments(emulator)
        emulator.store._consignments = current
    return current


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:
    async def list_consignments(request: Request, app: str) -> Response:
        with emulator.lock:
            b = book(emulator)
            rows = [b.view(b._refresh(c)) for c in b.items.values() if not c.get("deleted_at")]
        kind = request.query_params.get("type")
        status = request.query_params.get("status")
        rows = [r for r in rows if (not kind or r["type"] == kind) and (not status or r["status"] == status)]
        return json_response({"data": rows})

    async def create(request: Request, app: str) -> Response:
        body = await read_json(request)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise Unprocessable("the body must be {\"data\": {...the consignment...}}")
        with emulator.lock:
            b = book(emulator)
            return json_response({"data": b.view(b.create(data))}, 201)

    async def read(request: Request, app: str) -> Response:
        with emulator.lock:
            b = book(emulator)
            return json_response({"data": b.view(b.require(request.path_params["consignment_id"]))})

    async def update(request: Request, app: str) -> Response:
        body = await read_json(request)
        with emulator.lock:
            b = book(emulator)
            c = b.update(b.require(request.path_params["consignment_id"]), body.get("data") or {})
            return json_response({"data": b.view(c)})

    async def delete(request: Request, app: str) -> Response:
        with emulator.lock:
            b = book(emulator)
            b.delete(b.require(request.path_params["consignment_id"]))
        return json_response({})

    async def bulk(request: Request, app: str) -> Response:
        body = await read_json(request)
        with emulator.lock:
            b = book(emulator)
            return json_response({"data": b.bulk(b.require(request.path_params["consignment_id"]), body)})

    async def products(request: Request, app: str) -> Response:
        with emulator.lock:
            b = book(emulator)
            c = b.require(request.path_params["consignment_id"])
            rows = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in line.items()}
                    for line in b.products[c["id"]].values()]
        return json_response({"data": rows})

    return [
        api_route(emulator, "/api/2.0/consignments", list_consignments, ["GET"]),
        api_route(emulator, "/api/2.0/consignments", create, ["POST"]),
        api_route(emulator, "/api/2.0/consignments/{consignment_id}", read, ["GET"]),
        api_route(emulator, "/api/2.0/consignments/{consignment_id}", update, ["PUT"]),
        api_route(emulator, "/api/2.0/consignments/{consignment_id}", delete, ["DELETE"]),
        api_route(emulator, "/api/2.0/consignments/{consignment_id}/bulk", bulk, ["POST"]),
        api_route(emulator, "/api/2.0/consignments/{consignment_id}/products", products, ["GET"]),
    ]
