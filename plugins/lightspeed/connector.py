"""The Lightspeed Retail (X-Series) connector: the point of sale of a connection.

Reads use API 2.0 with the global ``version`` cursor (notes §4): ask for ``after=<cursor>``,
resume from ``version.max``, stop on an empty ``data``. Writes use ``POST /api/2.0/products``,
``PUT /api/2.1/products/{id}`` (details and absolute inventory, notes §3A) and the customer
endpoints. Creates whose id the server assigns are not retried blindly: after a lost answer the
record is looked up by its code before it is created again.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Sequence

import httpx

from tillbridge import (
    AuthError,
    Connector,
    CredentialField,
    Customer,
    Entity,
    Outgoing,
    Page,
    Product,
    PushResult,
    RateLimitHeaders,
    RecordRejected,
    RemoteError,
    StockLevel,
    TransientError,
    Unsupported,
    check_response,
    command,
    describe_transport_error,
    version_cursor,
)

from . import convert, wire
from .auth import LightspeedAuth
from .stocktake import InventoryCounts

log = logging.getLogger("tillbridge.lightspeed")

COLLECTIONS = {"product": "products", "customer": "customers", "sale": "sales", "location": "outlets",
               "tax": "taxes", "stock": "inventory"}
WHITESPACE = re.compile(r"\s")
NO_RETRY = {"tillbridge_retry": False}
#: How Lightspeed words its refusal to set stock on a product that does not track inventory.
UNTRACKED = re.compile(r"does not track inventory", re.IGNORECASE)
#: A stock push to one outlet of more products than this uses an inventory count (setting
#: ``stock_count_threshold``; 0 turns counts off). Below it the per-product PUTs cost fewer calls
#: than the count's create, bulk, polls, sales check and completion.
STOCK_COUNT_THRESHOLD = 50


class LightspeedConnector(Connector):
    system: ClassVar[str] = "lightspeed"
    title: ClassVar[str] = "Lightspeed Retail (X-Series)"
    short_title: ClassVar[str | None] = "Lightspeed"
    roles: ClassVar[frozenset[str]] = frozenset({"pos"})
    reads: ClassVar[frozenset[str]] = frozenset(COLLECTIONS)
    writes: ClassVar[frozenset[str]] = frozenset({"product", "customer", "stock"})
    credential_fields = (
        CredentialField("access_token", "OAuth access token", secret=True, required=False),
        CredentialField("refresh_token", "OAuth refresh token", secret=True, required=False),
        CredentialField("expires", "Access token expiry (epoch seconds)", required=False),
        CredentialField("client_id", "OAuth client id", required=False),
        CredentialField("client_secret", "OAuth client secret", secret=True, required=False),
        CredentialField("domain_prefix", "Store domain prefix", required=False),
        CredentialField("personal_token", "Personal token", secret=True, required=False),
    )
    default_base_url: ClassVar[str] = "https://{domain_prefix}.retail.lightspeed.app"
    # Notes §4: no documented maximum for 2.0 collections; Vend's own client uses up to 10,000.
    # 1,000 is a widely used size that keeps a page's memory small.
    max_page_size: ClassVar[int] = 1000
    #: Lightspeed caps a page of sales at 500 (Vend's own Go client, github.com/vend/govend, in
    #: vend/vend-cli); asking for more only gets a capped page that looks short.
    max_sales_page_size: ClassVar[int] = 500
    push_batch_size: ClassVar[int] = 200
    #: Stock levels go in batches this large: an inventory count sets many levels in one operation
    #: (500 counts a call), so it needs them together: each batch costs every outlet's count a
    #: create, a look and a completion on top of its bulk calls, so 20,000 products x 10 outlets
    #: go in 4 batches. Levels are absolute, so redoing a batch after a crash is harmless.
    stock_push_batch: ClassVar[int] = 50_000
    # Notes §5: every response carries X-RateLimit-Limit / -Remaining; the 300 s window.
    rate_limit_headers = RateLimitHeaders(remaining="X-RateLimit-Remaining", limit="X-RateLimit-Limit",
                                          reset="X-RateLimit-Reset", window_seconds=300.0, reserve=2)
    default_headers: ClassVar[dict[str, str]] = {"Accept": "application/json", "User-Agent": "tillbridge"}
    emulator: ClassVar[str | None] = "lightspeed"

    @classmethod
    def make_auth(cls, credentials: dict[str, Any], save_credentials: Any) -> httpx.Auth:
        return LightspeedAuth(credentials, save_credentials)

    @classmethod
    def oauth_authorize_url(cls, base_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
        from .oauth import authorize_page, authorize_url

        return authorize_url(authorize_page(base_url), client_id=client_id, redirect_uri=redirect_uri, state=state)

    @classmethod
    def oauth_exchange(cls, base_url: str, callback: Any, *, client_id: str, client_secret: str,
                       redirect_uri: str) -> tuple[str, dict[str, Any]]:
        from .oauth import exchange_code, store_base, token_url

        base_url = store_base(base_url, callback)  # the callback names the store that approved
        return base_url, exchange_code(token_url(base_url), callback["code"], client_id, client_secret, redirect_uri)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._tax_rates: dict[str, Decimal] | None = None
        self._discount_product: str | None = None
        self._retailer: dict[str, Any] | None = None
        #: products read with ``has_inventory`` false (or composite): no inventory is ever written
        #: to them (convert.product says why).
        self._untracked: set[str] = set()
        #: collection → the largest page it has answered: what the server really gives per page.
        self._full_page: dict[str, int] = {}
        #: outlets whose stale inventory counts of ours were looked for (once per instance).
        self._counts_checked: set[str] = set()

    # --- plumbing -------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, what: str = "", json: Any = None, **kwargs: Any) -> httpx.Response:
        if json is not None:  # Decimal money as exact JSON numbers (wire.py), not httpx's encoder
            kwargs["content"] = wire.dumps(json)
            kwargs["headers"] = {"Content-Type": "application/json", **kwargs.get("headers", {})}
        if not self.context.credentials.get("personal_token") and not self.context.credentials.get("access_token"):
            raise AuthError("Lightspeed is not connected for this connection",
                            fix=f"run `tillbridge connect lightspeed -c {self.context.connection}`")
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise describe_transport_error(exc, "Lightspeed", self.context.base_url) from None
        return check_response(response, "Lightspeed", what=what)

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    # --- reads ----------------------------------------------------------------------------------
    def check(self) -> str:
        outlets = self._get("/api/2.0/outlets")["data"]
        # A personal token does not say which store it opens: the retailer's own record does
        # (GET /api/2.0/retailer, x-series-api.lightspeedhq.com/reference/getretailer).
        retailer = self.retailer()
        name = retailer.get("name") or retailer.get("domain_prefix") or self.context.credentials.get("domain_prefix")
        return f"Lightspeed store {name or self.context.base_url}: {len(outlets)} outlets"

    def retailer(self) -> dict[str, Any]:
        """``GET /api/2.0/retailer`` (read once per connector)."""
        if self._retailer is None:
            data = self._get("/api/2.0/retailer").get("data")
            self._retailer = data if isinstance(data, dict) else {}
        return self._retailer

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        collection = COLLECTIONS.get(entity_type)
        if collection is None:
            raise Unsupported(f"Lightspeed cannot read {entity_type}")
        after = version_cursor(cursor)
        if since is not None:
            after = self._version_at(entity_type, since)
        asked = self.context.page_size or self.max_page_size
        if entity_type == "sale":
            asked = min(asked, self.max_sales_page_size)
        params: dict[str, Any] = {"after": after, "page_size": asked}
        if entity_type in {"product", "customer"}:
            params["deleted"] = "true"  # deletions reach us as obsolete records
        body = self._get(f"/api/2.0/{collection}", **params)
        data = body.get("data") or []
        if not data:
            return Page(records=[], cursor=str(after), more=False)
        records = self._convert(entity_type, data, since)
        top = (body.get("version") or {}).get("max") or max(int(d.get("version") or 0) for d in data)
        return Page(records=records, cursor=str(top), more=not self._last_page(collection, len(data), asked))

    def _last_page(self, collection: str, size: int, asked: int) -> bool:
        """Is a page of ``size`` records the end of the crawl?

        The documented end is an empty page (notes §4), which costs one more request per crawl:
        a poll that finds one change would make two. A page shorter than a full one ends the crawl
        instead. "Full" is the smaller of what we asked and the largest page this collection has
        answered, because the server may cap ``page_size`` silently below what we ask (notes §4:
        500 for sales per Vend's own client) and a capped page must not pass for the last one.
        Until a collection has answered a page, none counts as short. Stopping early loses
        nothing: the cursor stands at the last record read, and the next poll goes on from it.
        """
        seen = self._full_page.get(collection, 0)
        self._full_page[collection] = max(seen, size)
        return 0 < seen and size < min(asked, seen)

    def discount_product_id(self) -> str:
        """Lightspeed's system product for sale-level discounts (``/api/2.0/retailer``).

        It is not a real product: it is not imported, and its sale lines are folded into the
        sale's discount (docs.vendhq.com guide "Discounts": a quantity −1 line of this product).
        """
        if self._discount_product is None:
            self._discount_product = str(self.retailer().get("discount_product_id") or "")
        return self._discount_product

    def _convert(self, entity_type: str, data: list[dict[str, Any]], since: datetime | None) -> list[Entity]:
        if entity_type == "product":
            discount = self.discount_product_id()
            products = [convert.product(d) for d in data if d.get("id") != discount]
            for p in products:
                (self._untracked.discard if p.tracks_inventory else self._untracked.add)(p.id)
            records: list[Entity] = list(products)
        elif entity_type == "customer":
            records = [convert.customer(d) for d in data]
        elif entity_type == "sale":
            rates = self.tax_rates()
            records = [convert.sale(d, rates, skip_products={self.discount_product_id()}) for d in data]
        elif entity_type == "location":
            records = [convert.outlet(d) for d in data if not d.get("deleted_at")]
        elif entity_type == "stock":  # the opening stock flow: on hand per product and outlet
            records = [convert.inventory(d) for d in data if not d.get("deleted_at")]
        else:
            records = [t for d in data for t in convert.taxes(d)]
        if since is not None and entity_type in {"product", "customer"}:
            records = [r for r in records if r.updated_at is None or r.updated_at >= since]
        return records

    def _version_at(self, entity_type: str, since: datetime) -> int:
        """Where a re-import "since DATE" starts.

        Sales: the search endpoint finds the first sale on or after the date and we start just
        before its version (the approach of Vend's own CLI, notes §2.8). Products and customers
        have no date filter there, so they are re-read from the start and filtered by
        ``updated_at``.
        """
        if entity_type != "sale":
            return 0
        found = self._get("/api/2.0/search", type="sales", date_from=since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          order_by="version", order_direction="asc", page_size=1)
        data = found.get("data") or []
        if not data:
            return version_cursor(str(self._get("/api/2.0/versions").get("data", {}).get("sales", 0)))
        return max(int(data[0].get("version") or 1) - 1, 0)

    def tax_rates(self) -> dict[str, Decimal]:
        if self._tax_rates is None:
            rates: dict[str, Decimal] = {}
            for tax in self._get("/api/2.0/taxes").get("data") or []:
                for t in convert.taxes(tax):
                    rates[t.id] = t.rate
            self._tax_rates = rates
        return self._tax_rates

    def get(self, entity_type: str, record_id: str) -> Entity | None:
        collection = COLLECTIONS.get(entity_type)
        if collection is None or entity_type in {"location", "tax"}:
            raise Unsupported(f"Lightspeed cannot read one {entity_type}")
        if entity_type == "stock":  # "product@outlet", as the opening stock flow names a level
            product_id, _, outlet_id = record_id.partition("@")
            try:
                rows = self._get(f"/api/2.0/products/{product_id}/inventory").get("data") or []
            except RemoteError as exc:
                if exc.status == 404:
                    return None
                raise
            row = next((r for r in rows if r.get("outlet_id") == outlet_id and not r.get("deleted_at")), None)
            return convert.inventory(row) if row else None
        try:
            data = self._get(f"/api/2.0/{collection}/{record_id}")["data"]
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise
        return self._convert(entity_type, [data], None)[0]

    # --- writes ---------------------------------------------------------------------------------
    def push_batch_limit(self, entity_type: str) -> int:
        return self.stock_push_batch if entity_type == "stock" else self.push_batch_size

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        if entity_type == "stock":
            return self._push_stock(records)
        if entity_type == "product":
            return [self._guard(o, self._push_product) for o in records]
        if entity_type == "customer":
            return [self._guard(o, self._push_customer) for o in records]
        raise Unsupported(f"Lightspeed cannot write {entity_type}")

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
        # products in the POS (unleashed.md §8), and ``common`` applies to a whole variant
        # family (lightspeed-xseries.md §3A), so one variant's description would rename all.
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
            body: dict[str, Any] = {k: v for k, v in (("common", common), ("details", details)) if v}
            if not body:
                # Lightspeed holds these values already, or only fields it is master of changed.
                return PushResult(o.source_id, "unchanged", target_id=o.target_id)
            self._request("PUT", f"/api/2.1/products/{o.target_id}", json=body, what="updating a product")
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
        # ?sku= finds a product by any of its codes; all other params are ignored (notes §2.2).
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
            response = self._request("PUT", f"/api/2.0/customers/{o.target_id}", json=body,
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
                   if len({o.entity.product_id for o in levels}) > threshold}  # type: ignore[attr-defined]
            if big:
                counted = InventoryCounts(self, self._counts_checked).set_levels(big)
                results.update({o.source_id: PushResult(o.source_id, "updated",
                                                        target_id=f"{o.entity.product_id}@{outlet_id}")  # type: ignore[attr-defined]
                                for outlet_id, levels in big.items() for o in levels if o.source_id in counted})
            rest = [o for o in records if o.source_id not in results]
        results.update({r.source_id: r for r in self._put_stock(rest)})
        return [results[o.source_id] for o in records]

    def _put_stock(self, records: Sequence[Outgoing]) -> list[PushResult]:
        """One ``PUT /api/2.1/products/{id}`` per product carrying all its changed outlets.

        A product that does not track inventory (``has_inventory`` false, or composite) has no
        stock of its own in Lightspeed: nothing is written to it, whatever the inventory side
        says (the product is known from our reads, or from Lightspeed refusing the write).
        """
        by_product: dict[str, list[Outgoing]] = {}
        for o in records:
            assert isinstance(o.entity, StockLevel)
            by_product.setdefault(o.entity.product_id, []).append(o)
        results: dict[str, PushResult] = {}
        for product_id, levels in by_product.items():
            if product_id in self._untracked:
                for o in levels:
                    results[o.source_id] = _untracked_result(o, product_id)
                continue
            inventory = [{"outlet_id": o.entity.location_id,  # type: ignore[attr-defined]
                          "current_amount": o.entity.available}  # type: ignore[attr-defined]
                         for o in levels]
            try:
                self._request("PUT", f"/api/2.1/products/{product_id}", json={"details": {"inventory": inventory}},
                              what="setting inventory")
            except RemoteError as exc:
                if exc.status == 422 and UNTRACKED.search(exc.message or ""):
                    self._untracked.add(product_id)
                    for o in levels:
                        results[o.source_id] = _untracked_result(o, product_id)
                    continue
                if exc.status in (404, 422):
                    for o in levels:
                        results[o.source_id] = PushResult(o.source_id, "failed", error=RecordRejected(
                            exc.message, key=o.source_key,
                            fix="the product or outlet is gone from Lightspeed: reload outlets and check the mapping"))
                    continue
                raise
            for o in levels:
                results[o.source_id] = PushResult(o.source_id, "updated",
                                                  target_id=f"{product_id}@{o.entity.location_id}")  # type: ignore[attr-defined]
        return [results[o.source_id] for o in records]

    def time_zone(self) -> str | None:
        from .dated import retailer_time_zone

        return retailer_time_zone(self)

    def locations(self) -> list[Any]:
        return list(self.fetch("location", None).records)


def _untracked_result(o: Outgoing, product_id: str) -> PushResult:
    return PushResult(o.source_id, "unchanged", target_id=f"{product_id}@{o.entity.location_id}")  # type: ignore[attr-defined]


def _stored_customer(customer_id: str, body: dict[str, Any], response: httpx.Response | None = None) -> Customer:
    """The customer as Lightspeed holds it after a write (a name sent whole is kept as first and
    last names), so the customers flow reads it back as our own write, not a change."""
    data = response.json().get("data") if response is not None else None
    return convert.customer(data if isinstance(data, dict) else {**body, "id": customer_id})
