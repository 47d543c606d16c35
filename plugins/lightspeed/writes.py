"""The writes of :class:`~tillbridge_lightspeed.connector.LightspeedConnector`: products,
customers and stock levels (per-product ``PUT``s, or inventory counts for big pushes)."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Callable, Sequence

import httpx

from tillbridge import (
    Connector,
    Customer,
    Outgoing,
    Product,
    PushResult,
    RecordRejected,
    RemoteError,
    StockLevel,
    TransientError,
    check_response,
    command,
)

from . import convert, wire
from .stocktake import InventoryCounts

WHITESPACE = re.compile(r"\s")
NO_RETRY = {"tillbridge_retry": False}
#: How Lightspeed words its refusal to set stock on a product that does not track inventory.
UNTRACKED = re.compile(r"does not track inventory", re.IGNORECASE)
#: A stock push to one outlet of more products than this uses an inventory count (setting
#: ``stock_count_threshold``; 0 turns counts off). Below it the per-product PUTs cost fewer calls
#: than the count's create, bulk, polls, sales check and completion.
STOCK_COUNT_THRESHOLD = 50
#: Stock PUTs (one per product) sent at once. Lightspeed documents no limit on requests in flight,
#: only the rate budget (https://x-series-api.lightspeedhq.com/docs/rate_limiting), which the
#: client's pacer keeps to whatever the width: 4, as for Unleashed.
STOCK_PUT_CONCURRENCY = 4


class RecordWrites(Connector):
    """Products, customers, stock levels: the writes of :class:`LightspeedConnector`."""

    _untracked: set[str]
    #: stock PUTs sent at once (products are independent)
    stock_put_concurrency: int = STOCK_PUT_CONCURRENCY
    _counts_checked: set[str]
    _get: Callable[..., Any]

    def _guard(self, outgoing: Outgoing, write: Any) -> PushResult:
        try:
            return write(outgoing)
        except RecordRejected as exc:
            exc.key = outgoing.source_key
            return PushResult(outgoing.source_id, "failed", error=exc)
        except RemoteError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 429):
                return PushResult(outgoing.source_id, "failed",
                                  error=RecordRejected(exc.message, key=outgoing.source_key,
                                                       fix="correct the record in the system it comes "
                                                           "from, then press Re-import on this line (or "
                                                           + command("reimport", "--record", outgoing.source_key,
                                                                     "-c", self.context.connection) + ")"))
            raise

    def _push_product(self, o: Outgoing) -> PushResult:
        product = o.entity
        assert isinstance(product, Product)
        fields = o.update_fields
        details: dict[str, Any] = {}
        common: dict[str, Any] = {}
        if fields is None or "sell_price" in fields:
            if product.sell_price is not None:
                details["price_excluding_tax"] = product.sell_price  # a JSON number (2.1 update body)
        # The name is not sent on updates: the help centre says the integration cannot rename
        # products in the POS
        # (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction), and
        # ``common`` applies to a whole variant family (https://x-series-api.lightspeedhq.com/docs/inventory_updates),
        # so one variant's description would rename all.
        if fields is None or "notes" in fields:
            common["description"] = product.notes or ""
        if o.exists:
            current = self._current_product(o.target_id) if (common or details) else None
            if current is not None:
                # Send only what differs: a PUT bumps the product's version, which the products
                # flow would read as a change and send back (the two sides may rightly keep
                # different names), so an idle write would ping-pong between the systems.
                if "price_excluding_tax" in details and convert.dec(current.get("price_excluding_tax")) == \
                        convert.dec(details["price_excluding_tax"]):
                    del details["price_excluding_tax"]
                if "description" in common and convert.plain(current.get("description")) == (product.notes or None):
                    del common["description"]
            update = {k: v for k, v in (("common", common), ("details", details)) if v}
            if not update:
                # Lightspeed holds these values already, or only fields it is master of changed.
                return PushResult(o.source_id, "unchanged", target_id=o.target_id)
            self.request("PUT", f"/api/2.1/products/{o.target_id}", json=update, what="updating a product")
            # what Lightspeed holds now (its own name kept): the products flow reads it back as ours
            stored = convert.product({**current, **common, **details}) if current is not None else None
            return PushResult(o.source_id, "updated", target_id=o.target_id, stored=stored)
        if WHITESPACE.search(product.code) and not self.context.settings.get("export_codes_with_spaces"):
            raise RecordRejected(
                f"product code {product.code!r} contains spaces: Lightspeed removes them, so the two systems "
                "would hold different codes and the product's sales could not be matched to it by code",
                fix=f"change the code in {self.context.peer_name('inventory')} (e.g. replace spaces with '-'), "
                    "then press Re-import on this line "
                    f"(or {command('reimport', '--record', o.source_key, '-c', self.context.connection)}); or export "
                    "it anyway: Configuration → Advanced → Export product codes with spaces anyway (or "
                    f"{command('settings', 'set', 'export_codes_with_spaces', 'on', '-c', self.context.connection)})",
            )
        sku = WHITESPACE.sub("", product.code)
        # export_codes_with_spaces: the product is bound by id, so its sales still reach the right
        # Unleashed product; the log says the codes now differ between the two systems.
        note = None if sku == product.code else (
            f"exported with export_codes_with_spaces: Lightspeed stores the code {product.code!r} as {sku!r}; "
            "sales still match (tillbridge binds products by id), but the codes differ in the two systems")
        existing = self._find_product(sku)
        if existing:  # created before a lost answer, or already in the store: bind to it
            return PushResult(o.source_id, "updated", target_id=existing, note=note)
        body = {"name": product.description, "sku": sku, "handle": sku.lower(),
                "price_excluding_tax": product.sell_price or Decimal(0), "description": product.notes or ""}
        if product.cost_price is not None:
            body["supply_price"] = product.cost_price
        new_id = self._create("/api/2.0/products", body, lambda: self._find_product(sku))
        # Lightspeed holds the code without its spaces: the products flow reads it back as ours
        return PushResult(o.source_id, "created", target_id=new_id, note=note,
                          stored=convert.product({**body, "id": new_id}))

    def _current_product(self, product_id: str) -> dict[str, Any] | None:
        try:
            data = self._get(f"/api/2.0/products/{product_id}").get("data")
        except RemoteError as exc:
            if exc.status == 404:
                return None  # gone: the PUT below reports it
            raise
        return data if isinstance(data, dict) else None

    def _create(self, path: str, body: dict[str, Any], find: Any) -> str:
        """POST once (no blind retry); on a lost answer, look the record up, then try again."""
        for attempt in range(3):
            try:
                response = self.http.post(path, content=wire.dumps(body), extensions=NO_RETRY,
                                          headers={"Content-Type": "application/json"})
            except httpx.TransportError:
                found = find()
                if found:
                    return str(found)
                time.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code in (500, 502, 503, 504, 429):
                found = find()
                if found:
                    return str(found)
                time.sleep(0.2 * (attempt + 1))
                continue
            check_response(response, "Lightspeed", what="creating a record")
            data = response.json().get("data")
            if isinstance(data, list):
                return str(data[0])
            return str(data["id"])
        raise TransientError(f"Lightspeed did not confirm creating {body.get('sku') or body.get('customer_code')}")

    def _find_product(self, sku: str) -> str | None:
        # ?sku= finds a product by any of its codes; all other params are ignored
        # (https://x-series-api.lightspeedhq.com/reference).
        found = self._get("/api/2.0/products", sku=sku).get("data") or []
        for item in found:
            if item.get("sku") == sku or any(c.get("code") == sku for c in item.get("product_codes") or []):
                return str(item["id"])
        return None

    def _push_customer(self, o: Outgoing) -> PushResult:
        c = o.entity
        assert isinstance(c, Customer)
        first, last = c.first_name, c.last_name
        if not first and not last:
            first, _, last = c.name.partition(" ")
        body = {"first_name": first or c.name, "last_name": last or "", "customer_code": c.code,
                "email": c.email, "phone": c.phone, "company_name": c.company_name}
        body = {k: v for k, v in body.items() if v is not None}
        if o.exists:
            response = self.request("PUT", f"/api/2.0/customers/{o.target_id}", json=body,
                                     what="updating a customer")
            return PushResult(o.source_id, "updated", target_id=o.target_id,
                              stored=_stored_customer(o.target_id, body, response))
        existing = self._find_customer(c.code)
        if existing:
            return PushResult(o.source_id, "updated", target_id=existing)
        new_id = self._create("/api/2.0/customers", body, lambda: self._find_customer(c.code))
        return PushResult(o.source_id, "created", target_id=new_id, stored=_stored_customer(new_id, body))

    def _find_customer(self, code: str) -> str | None:
        found = self._get("/api/2.0/search", type="customers", customer_code=code).get("data") or []
        return next((str(i["id"]) for i in found if i.get("customer_code") == code), None)

    def _push_stock(self, records: Sequence[Outgoing]) -> list[PushResult]:
        """Set stock levels: per outlet, an inventory count when it covers more than
        ``stock_count_threshold`` products (all such outlets' counts side by side:
        ``stocktake.InventoryCounts``), else one
        ``PUT /api/2.1/products/{id}`` per product carrying all its changed outlets.
        """
        threshold = int(self.context.settings.get("stock_count_threshold", STOCK_COUNT_THRESHOLD) or 0)
        by_outlet: dict[str, list[Outgoing]] = {}
        for o in records:
            assert isinstance(o.entity, StockLevel)
            if o.entity.product_id not in self._untracked:
                by_outlet.setdefault(o.entity.location_id, []).append(o)
        results: dict[str, PushResult] = {}
        rest: list[Outgoing] = list(records)
        if threshold > 0:
            big = {outlet_id: levels for outlet_id, levels in by_outlet.items()
                   if len({_level(o).product_id for o in levels}) > threshold}
            if big:
                # (a RecordWrites is always the LightspeedConnector it is mixed into)
                counted = InventoryCounts(self, self._counts_checked).set_levels(big)  # type: ignore[arg-type]
                results.update({o.source_id: PushResult(o.source_id, "updated",
                                                        target_id=f"{_level(o).product_id}@{outlet_id}")
                                for outlet_id, levels in big.items() for o in levels if o.source_id in counted})
            rest = [o for o in records if o.source_id not in results]
        results.update({r.source_id: r for r in self._put_stock(rest)})
        return [results[o.source_id] for o in records]

    def _put_stock(self, records: Sequence[Outgoing]) -> list[PushResult]:
        """One ``PUT /api/2.1/products/{id}`` per product carrying all its changed outlets,
        ``stock_put_concurrency`` products at once.

        A product that does not track inventory (``has_inventory`` false, or composite) has no
        stock of its own in Lightspeed: nothing is written to it, whatever the inventory side
        says (the product is known from our reads, or from Lightspeed refusing the write).
        """
        by_product: dict[str, list[Outgoing]] = {}
        for o in records:
            assert isinstance(o.entity, StockLevel)
            by_product.setdefault(o.entity.product_id, []).append(o)
        results: dict[str, PushResult] = {}
        width = max(1, min(int(self.stock_put_concurrency), len(by_product)))
        if width == 1:
            answers = [self._put_one(product_id, levels) for product_id, levels in by_product.items()]
        else:  # independent products: side by side (the pacer keeps to the rate limit)
            with ThreadPoolExecutor(max_workers=width, thread_name_prefix="tillbridge-lightspeed-put") as pool:
                answers = list(pool.map(lambda item: self._put_one(*item), by_product.items()))
        for answer in answers:
            results.update({res.source_id: res for res in answer})
        return [results[o.source_id] for o in records]

    def _put_one(self, product_id: str, levels: list[Outgoing]) -> list[PushResult]:
        """One product's levels at all its changed outlets, in one ``PUT``."""
        if product_id in self._untracked:
            return [_untracked_result(o, product_id) for o in levels]
        inventory = [{"outlet_id": _level(o).location_id, "current_amount": _level(o).available}
                     for o in levels]
        try:
            self.request("PUT", f"/api/2.1/products/{product_id}", json={"details": {"inventory": inventory}},
                         what="setting inventory")
        except RemoteError as exc:
            if exc.status == 422 and UNTRACKED.search(exc.message or ""):
                self._untracked.add(product_id)
                return [_untracked_result(o, product_id) for o in levels]
            if exc.status in (404, 422):
                return [PushResult(o.source_id, "failed", error=RecordRejected(
                    exc.message, key=o.source_key,
                    fix="the product or outlet is gone from Lightspeed: reload outlets and check the mapping"))
                    for o in levels]
            raise
        return [PushResult(o.source_id, "updated", target_id=f"{product_id}@{_level(o).location_id}")
                for o in levels]


def _untracked_result(o: Outgoing, product_id: str) -> PushResult:
    return PushResult(o.source_id, "unchanged", target_id=f"{product_id}@{_level(o).location_id}")


def _level(o: Outgoing) -> StockLevel:
    assert isinstance(o.entity, StockLevel)  # the stock flow writes stock levels only
    return o.entity


def _stored_customer(customer_id: str, body: dict[str, Any], response: httpx.Response | None = None) -> Customer:
    """The customer as Lightspeed holds it after a write (a name sent whole is kept as first and
    last names), so the customers flow reads it back as our own write, not a change."""
    data = response.json().get("data") if response is not None else None
    return convert.customer(data if isinstance(data, dict) else {**body, "id": customer_id})
