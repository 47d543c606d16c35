"""The HTTP surface: auth, quota, JSON in and out, and dispatch to the resource handlers.

One catch-all route dispatches on the path itself because Unleashed overloads ``/{Resource}/{x}``:
``x`` all digits is a page number, a GUID is a record (https://apidocs.unleashedsoftware.com/Pagination), and the
legacy ``/{Resource}/Page/{n}`` form is accepted too. Resource names are matched
case-insensitively, as ASP.NET routing does [I].
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response

from tillbridge_unleashed.signing import verify

from . import adjustments, boms, customers, invoices, products, sales_orders, stock_on_hand
from .schemas import check_body
from .errors import UnleashedError, not_found
from .query import Query, modified_since, paginate, starts_with
from .state import Record
from .wire import dumps

if TYPE_CHECKING:
    from .emulator import UnleashedEmulator

log = logging.getLogger(__name__)

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
METHODS = ["GET", "POST", "PUT", "DELETE"]


@dataclass
class Call:
    method: str
    rest: list[str]
    query: Query
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json; charset=utf-8", headers=headers)


def _error(status: int, description: str) -> UnleashedError:
    return UnleashedError(status, description)


def _target(rest: list[str]) -> tuple[str, Any]:
    """``[]`` / ``["2"]`` / ``["Page", "2"]`` -> ("list", page); ``[guid]`` -> ("one", guid)."""
    if not rest or (len(rest) == 1 and rest[0].lower() == "page"):
        # https://apidocs.unleashedsoftware.com/Pagination: one client calls ``/Products/Page`` for the first page
        return "list", 1
    if len(rest) == 1 and rest[0].isdigit():
        page = int(rest[0])
    elif len(rest) == 2 and rest[0].lower() == "page" and rest[1].isdigit():
        page = int(rest[1])
    elif len(rest) == 1 and GUID.match(rest[0]):
        return "one", rest[0].lower()
    else:
        raise _error(404, "No such resource.")
    if page < 1:
        raise UnleashedError(400, "Page numbers start at 1.", field="page")
    return "list", page


def _guid(segment: str) -> str:
    if not GUID.match(segment):
        raise UnleashedError(400, f"'{segment}' is not a valid Guid.", field="Guid")
    return segment.lower()


def _method_not_allowed(allowed: list[str]) -> UnleashedError:
    return UnleashedError(405, "The requested resource does not support this HTTP method.", headers={"Allow": ", ".join(allowed)})


class UnleashedApi:
    """Turns HTTP requests into calls on the emulator's state, under its lock."""

    def __init__(self, emulator: "UnleashedEmulator") -> None:
        self.emu = emulator
        self.handlers: dict[str, Callable[[Call], Result]] = {
            "warehouses": self.warehouses,
            "products": self.products,
            "customers": self.customers,
            "stockonhand": self.stock_on_hand,
            "billofmaterials": self.bills_of_materials,
            "salesorders": self.sales_orders,
            "invoices": self.invoices,
            "salesordergroups": self.sales_order_groups,
            "taxes": self.taxes,
            "currencies": self.currencies,
            "stockadjustments": self.stock_adjustments,
            "webhooks": self.webhooks,
        }

    # --- the ASGI endpoint --------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        try:
            self._authenticate(request)
            self.emu.quota.hit()
            segments = [s for s in request.url.path.split("/") if s]
            handler = self.handlers.get(segments[0].lower()) if segments else None
            if handler is None:
                raise _error(404, "No such resource.")
            call = Call(request.method, segments[1:], Query(request.scope.get("query_string", b"").decode("utf-8", "replace")))
            if request.method in ("POST", "PUT"):
                call.body = self._parse_body(await request.body())
            with self.emu.lock:
                if request.method in ("POST", "PUT"):
                    self._check_body(segments[0].lower(), call)
                result = handler(call)
                return json_response(result.status, result.payload, result.headers)
        except UnleashedError as exc:
            return json_response(exc.status, exc.body(), exc.headers)

    def _authenticate(self, request: Request) -> None:
        """https://apidocs.unleashedsoftware.com/AuthenticationHelp: ``api-auth-id`` + ``api-auth-signature`` over the
        raw query string; else 403."""
        options = self.emu.options
        api_id = request.headers.get("api-auth-id")
        signature = request.headers.get("api-auth-signature")
        raw_query = request.scope.get("query_string", b"").decode("utf-8", "replace")
        if not api_id or not signature:
            raise _error(403, "Forbidden: the api-auth-id and api-auth-signature headers are required.")
        if api_id.strip().lower() != str(options["api_id"]).lower() or not verify(
            raw_query, str(options["api_key"]), signature, lenient=bool(options["lenient_signature"])
        ):
            raise _error(403, "Forbidden: the API id or method signature is not valid.")
        accept = request.headers.get("accept", "")
        if options["strict_accept"] and "json" not in accept and "*/*" not in accept:
            # https://apidocs.unleashedsoftware.com/AuthenticationHelp (Webhooks page): without
            # ``Accept: application/json`` calls fail. By default
            # the emulator answers JSON regardless (it has no XML form).
            raise _error(406, "Send 'Accept: application/json'; this API answers in JSON.")
        if not request.headers.get("client-type"):
            # https://apidocs.unleashedsoftware.com/AuthenticationHelp: client-type is encouraged, not enforced.
            log.debug("request without client-type header: %s %s", request.method, request.url.path)

    @staticmethod
    def _parse_body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise UnleashedError(400, f"The request body is not valid JSON: {exc}.") from None
        if not isinstance(body, dict):
            raise UnleashedError(400, "The request body must be a JSON object.")
        return body

    def _check_body(self, resource: str, call: Call) -> None:
        """Every write body against its documented fields (``schemas.py``) before the handler."""
        rest = [r.lower() for r in call.rest]
        if rest and rest[-1] in ("complete", "obsolete") or (resource == "products" and rest[:1] == ["obsolete"]):
            return  # these take no body
        if resource == "webhooks" and rest != ["subscriptions"]:
            return
        state = self.emu.state
        records = {"products": state.products, "customers": state.customers, "salesorders": state.orders,
                   "stockadjustments": state.adjustments, "billofmaterials": state.boms}.get(resource)
        guid = (call.rest[0] if call.rest else str(call.body.get("Guid") or "")).lower()
        creating = call.method == "POST" and (records is None or guid not in records)
        check_body(call.method, resource, call.body, creating=creating)

    # --- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _page(call: Call, page: int, rows: Sequence[Record], *, allow_zero: bool = False) -> Result:
        return Result(200, paginate(rows, page, call.query.page_size(allow_zero=allow_zero)))

    @staticmethod
    def _one(record: Record | None, resource: str, guid: str) -> Result:
        if record is None:
            raise not_found(resource, guid)
        return Result(200, record)

    def _read_only(self, call: Call, resource: str, records: dict[str, Record], lister: Callable[[Query], Sequence[Record]], **page_kw: Any) -> Result:
        if call.method != "GET":
            raise _method_not_allowed(["GET"])
        kind, value = _target(call.rest)
        if kind == "list":
            return self._page(call, value, lister(call.query), **page_kw)
        return self._one(records.get(value), resource, value)

    # --- resources ------------------------------------------------------------------------------
    def warehouses(self, call: Call) -> Result:
        state = self.emu.state

        def lister(q: Query) -> list[Record]:
            # https://apidocs.unleashedsoftware.com/Warehouses: filters includeObsolete, modifiedSince,
            # warehouseCode/Name (starts with); default order warehouseCode ascending.
            include, since = q.flag("includeObsolete"), q.date("modifiedSince")
            code, name = q.get("warehouseCode"), q.get("warehouseName")
            rows = [
                w for w in state.warehouses.values()
                if (include or not w["Obsolete"]) and modified_since(w["LastModifiedOn"], since)
                and starts_with(w["WarehouseCode"], code) and starts_with(w["WarehouseName"], name)
            ]
            return sorted(rows, key=lambda w: w["WarehouseCode"].upper())

        # Only the list is documented (https://apidocs.unleashedsoftware.com/Warehouses); GET by Guid is answered like
        # every other resource [I].
        return self._read_only(call, "Warehouse", state.warehouses, lister)

    def products(self, call: Call) -> Result:
        state = self.emu.state
        if call.method == "POST":
            if len(call.rest) == 2 and call.rest[0].lower() == "obsolete":
                return Result(200, products.obsolete_product(state, _guid(call.rest[1])))
            if len(call.rest) == 1:
                record, created = products.upsert_product(state, _guid(call.rest[0]), call.body)
                return Result(201 if created else 200, record)
            raise _error(404, "Use POST /Products/{Guid} to create or update a product.")
        if call.method != "GET":
            raise _method_not_allowed(["GET", "POST"])
        kind, value = _target(call.rest)
        if kind == "list":
            return self._page(call, value, products.list_products(state, call.query))
        product = state.products.get(value)
        return self._one(products.render_product(state, product) if product else None, "Product", value)

    def customers(self, call: Call) -> Result:
        state = self.emu.state
        if call.method == "POST":
            if len(call.rest) > 1:
                raise _error(404, "No such resource.")
            # https://apidocs.unleashedsoftware.com/Customers: POST /Customers or POST
            # /Customers/{Guid} (create or update).
            guid = _guid(call.rest[0]) if call.rest else _guid(str(call.body.get("Guid") or self.emu.new_id()))
            record, created = customers.upsert_customer(state, guid, call.body)
            return Result(201 if created else 200, record)
        return self._read_only(call, "Customer", state.customers, lambda q: customers.list_customers(state, q))

    def stock_on_hand(self, call: Call) -> Result:
        state = self.emu.state
        if call.method != "GET":
            raise _method_not_allowed(["GET"])
        if len(call.rest) == 2 and call.rest[1].lower() == "allwarehouses":
            rows = stock_on_hand.stock_all_warehouses(state, _guid(call.rest[0]), call.query)
            return self._page(call, 1, rows)
        kind, value = _target(call.rest)
        if kind == "list":
            return self._page(call, value, stock_on_hand.list_stock(state, call.query))
        return Result(200, stock_on_hand.single_stock(state, value, call.query))

    def bills_of_materials(self, call: Call) -> Result:
        state = self.emu.state
        if call.method == "POST":
            if len(call.rest) > 1:
                raise _error(404, "No such resource.")
            guid = _guid(call.rest[0]) if call.rest else _guid(str(call.body.get("Guid") or self.emu.new_id()))
            return Result(201, boms.create_bom(state, guid, call.body))
        if call.method == "PUT":
            if len(call.rest) != 1:
                raise _error(404, "Use PUT /BillOfMaterials/{Guid}.")
            return Result(200, boms.update_bom(state, _guid(call.rest[0]), call.body))
        if call.method != "GET":
            raise _method_not_allowed(["GET", "POST", "PUT"])
        kind, value = _target(call.rest)
        if kind == "list":
            return self._page(call, value, boms.list_boms(state, call.query))
        bom = state.boms.get(value)
        return self._one(boms.render_bom(bom, in_list=False) if bom else None, "Bill of materials", value)

    def sales_orders(self, call: Call) -> Result:
        state = self.emu.state
        rest = call.rest
        if call.method == "POST":
            if len(rest) == 2 and rest[1].lower() == "complete":
                return Result(200, sales_orders.complete_or_raise(state, _guid(rest[0])))
            if len(rest) > 1:
                raise _error(404, "No such resource.")
            guid = _guid(rest[0]) if rest else _guid(str(call.body.get("Guid") or self.emu.new_id()))
            record, status = sales_orders.create_order(state, guid, call.body)
            return Result(status, record)
        if call.method == "PUT":
            if len(rest) != 1:
                raise _error(404, "Use PUT /SalesOrders/{Guid}.")
            return Result(200, sales_orders.update_order(state, _guid(rest[0]), call.body))
        if call.method == "DELETE":
            if len(rest) != 1:
                raise _error(404, "Use DELETE /SalesOrders/{Guid}.")
            return Result(200, sales_orders.delete_order(state, _guid(rest[0])))
        return self._read_only(call, "Sales order", state.orders, lambda q: sales_orders.list_orders(state, q))

    def invoices(self, call: Call) -> Result:
        state = self.emu.state
        # https://apidocs.unleashedsoftware.com/Invoices: read-only; pageSize=0 returns just the count.
        return self._read_only(call, "Invoice", state.invoices, lambda q: invoices.list_invoices(state, q), allow_zero=True)

    def sales_order_groups(self, call: Call) -> Result:
        state = self.emu.state

        def lister(q: Query) -> list[Record]:
            # https://support.unleashedsoftware.com/hc/en-us/articles/4402392521241-Sales-Groups [?]: path and item
            # fields (GroupName, Guid, Obsolete) are inferred.
            include = q.flag("includeObsolete")
            return sorted((g for g in state.sales_groups.values() if include or not g["Obsolete"]), key=lambda g: g["GroupName"].upper())

        return self._read_only(call, "Sales order group", state.sales_groups, lister)

    def taxes(self, call: Call) -> Result:
        state = self.emu.state

        def lister(q: Query) -> list[Record]:
            # https://apidocs.unleashedsoftware.com/Taxes: filters canApplyToRevenue, canApplyToExpenses.
            revenue, expenses = q.get("canApplyToRevenue"), q.get("canApplyToExpenses")
            rows = [
                t for t in state.taxes.values()
                if (revenue is None or t["CanApplyToRevenue"] == q.flag("canApplyToRevenue"))
                and (expenses is None or t["CanApplyToExpenses"] == q.flag("canApplyToExpenses"))
            ]
            return sorted(rows, key=lambda t: (t["TaxCode"].upper(), not t["CanApplyToRevenue"]))

        return self._read_only(call, "Tax", state.taxes, lister)

    def currencies(self, call: Call) -> Result:
        state = self.emu.state
        if call.method != "GET":
            raise _method_not_allowed(["GET"])
        if call.rest and GUID.match(call.rest[0]) and len(call.rest) == 1:
            return self._one(state.currencies.get(call.rest[0].lower()), "Currency", call.rest[0])
        if call.rest:
            raise _error(404, "No such resource.")
        rows = sorted(state.currencies.values(), key=lambda c: c["CurrencyCode"])
        if call.query.flag("inUse"):
            # https://apidocs.unleashedsoftware.com/Currencies: inUse -> only currencies with a buy rate (the
            # base currency drops out).
            rows = [c for c in rows if c["DefaultBuyRate"] is not None]
        # https://apidocs.unleashedsoftware.com/Currencies: the Currencies example has no Pagination block.
        return Result(200, {"Items": rows})

    def stock_adjustments(self, call: Call) -> Result:
        state = self.emu.state
        if call.method == "POST":
            if len(call.rest) > 1:
                raise _error(404, "No such resource.")
            guid = _guid(call.rest[0]) if call.rest else _guid(str(call.body.get("Guid") or self.emu.new_id()))
            return Result(201, adjustments.create_adjustment(state, guid, call.body))
        return self._read_only(call, "Stock adjustment", state.adjustments, lambda q: adjustments.list_adjustments(state, q))

    def webhooks(self, call: Call) -> Result:
        hub = self.emu.webhooks
        rest = [s.lower() for s in call.rest]
        if not rest or rest[0] != "subscriptions" or len(rest) > 2:
            raise _error(404, "No such resource.")
        if len(rest) == 1:
            if call.method == "GET":
                return Result(200, paginate(hub.list(), 1, 1000))
            if call.method == "POST":
                return Result(201, hub.subscribe(call.body, self.emu.state.now()))
            raise _method_not_allowed(["GET", "POST"])
        guid = _guid(call.rest[1])
        if call.method == "DELETE":
            hub.unsubscribe(guid)
            return Result(200, {"Guid": guid, "Deleted": True})
        if call.method == "GET":
            return self._one(next((s for s in hub.list() if s["Guid"] == guid), None), "Webhook subscription", guid)
        raise _method_not_allowed(["GET", "DELETE"])
