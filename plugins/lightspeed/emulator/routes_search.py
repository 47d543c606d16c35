"""``GET /api/2.0/search?type=sales|products|customers`` with offset paging
(https://x-series-api.lightspeedhq.com/reference, spec /search).

``page_size`` is at most 1000 ("specifying more than 1000 will result in 1000 objects being
returned"); its default is not documented, the emulator uses ``search_default_page_size``
(100, the default the spec's shared ``PageSize`` parameter declares). Product ``sku`` values
"must be lowercased": the emulator matches them against lower-cased codes, so an upper-case
value finds nothing, as on the real index. The default order is not documented either; the
emulator sorts by ``version`` (oldest write first) unless ``order_by`` names a field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .errors import BadRequest
from .http import api_route, json_response, query_bool, query_int
from .versioned import Record

if TYPE_CHECKING:
    from .emulator import LightspeedEmulator

Match = Callable[[Record], bool]
_COLLECTION = {"sales": "sales", "products": "products", "customers": "customers"}
_CUSTOMER_FIELDS = ("customer_code", "email", "first_name", "last_name", "company_name", "mobile", "phone")
_PRODUCT_IDS = ("supplier_id", "brand_id", "product_type_id", "variant_parent_id")


# Filters made in a loop take their key and values here, not from the loop's variables.
def _equals(key: str, value: Any) -> Match:
    return lambda record: record.get(key) == value


def _equals_ignoring_case(key: str, value: str) -> Match:
    return lambda record: (record.get(key) or "").lower() == value


def _among(key: str, values: set[str], *, inside: bool = True) -> Match:
    return lambda record: (record.get(key) in values) is inside


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a UTC timestamp like 2016-08-08T12:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _sales_filters(request: Request) -> list[Match]:
    q = request.query_params
    filters: list[Match] = []
    if q.get("date_from"):
        start = _moment(q["date_from"], "date_from")
        filters.append(lambda s: datetime.fromisoformat(s["sale_date"]) >= start)
    if q.get("date_to"):
        end = _moment(q["date_to"], "date_to")
        filters.append(lambda s: datetime.fromisoformat(s["sale_date"]) <= end)
    statuses = set(q.getlist("status"))  # repeatable
    if statuses:
        filters.append(lambda s: s["status"] in statuses)
    for key in ("outlet_id", "customer_id", "user_id", "invoice_number", "register_id"):
        if q.get(key):
            filters.append(_equals(key, q[key]))
    return filters


def _product_filters(request: Request) -> list[Match]:
    q = request.query_params
    filters: list[Match] = []
    wanted, unwanted = set(q.getlist("sku")), set(q.getlist("-sku"))
    if wanted:
        filters.append(lambda p: any(c["code"].lower() in wanted for c in p["product_codes"]))
    if unwanted:
        filters.append(lambda p: not any(c["code"].lower() in unwanted for c in p["product_codes"]))
    for key in _PRODUCT_IDS:
        include, exclude = set(q.getlist(key)), set(q.getlist(f"-{key}"))
        if include:
            filters.append(_among(key, include))
        if exclude:
            filters.append(_among(key, exclude, inside=False))
    tags, no_tags = set(q.getlist("tag_id")), set(q.getlist("-tag_id"))
    if tags:
        filters.append(lambda p: bool(tags & set(p["tag_ids"])))
    if no_tags:
        filters.append(lambda p: not (no_tags & set(p["tag_ids"])))
    return filters


def _customer_filters(request: Request) -> list[Match]:
    q = request.query_params
    return [
        _equals_ignoring_case(key, q[key].lower())
        for key in _CUSTOMER_FIELDS
        if q.get(key)
    ]


def _sort_key(field: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        value = record.get(field)
        if isinstance(value, (dict, list)):
            value = None
        return (value is None, "" if value is None else value)

    return key


def routes(emulator: LightspeedEmulator) -> list[BaseRoute]:
    opts = emulator.opts

    async def search(request: Request, app: str) -> Response:
        kind = request.query_params.get("type", "")
        if kind not in _COLLECTION:
            raise BadRequest("type must be one of sales, products, customers")
        filters = {"sales": _sales_filters, "products": _product_filters, "customers": _customer_filters}[kind](
            request
        )
        include, exclude = set(request.query_params.getlist("_id")), set(request.query_params.getlist("-_id"))
        deleted = query_bool(request, "deleted")
        offset = query_int(request, "offset", 0) or 0
        size = query_int(request, "page_size", opts.search_default_page_size, minimum=1)
        size = min(size or opts.search_default_page_size, opts.search_max_page_size)  # silently capped
        order_by = request.query_params.get("order_by") or "version"
        direction = request.query_params.get("order_direction", "asc").lower()
        if direction not in {"asc", "desc"}:
            raise BadRequest("order_direction must be asc or desc")
        with emulator.lock:
            found = [
                r
                for r in emulator.store.collections[_COLLECTION[kind]].values()
                if (deleted or r.get("deleted_at") is None)
                and (not include or r["id"] in include)
                and r["id"] not in exclude
                and all(match(r) for match in filters)
            ]
            try:
                found.sort(key=_sort_key(order_by), reverse=direction == "desc")
            except TypeError as exc:
                raise BadRequest(f"cannot order by {order_by}") from exc
            return json_response({"data": found[offset : offset + size]})

    return [api_route(emulator, "/api/2.0/search", search, ["GET"])]
