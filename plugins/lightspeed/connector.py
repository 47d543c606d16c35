"""The Lightspeed Retail (X-Series) connector: the point of sale of a connection.

Reads use API 2.0 with the global ``version`` cursor (https://x-series-api.lightspeedhq.com/docs/pagination):
ask for ``after=<cursor>``,
resume from ``version.max``, stop on an empty ``data``. Writes use ``POST /api/2.0/products``,
``PUT /api/2.1/products/{id}`` (details and absolute inventory,
https://x-series-api.lightspeedhq.com/docs/inventory_updates) and the customer
endpoints. Creates whose id the server assigns are not retried blindly: after a lost answer the
record is looked up by its code before it is created again.
"""

from __future__ import annotations

import logging
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
from .writes import RecordWrites

log = logging.getLogger("tillbridge.lightspeed")

COLLECTIONS = {"product": "products", "customer": "customers", "sale": "sales", "location": "outlets",
               "tax": "taxes", "stock": "inventory"}
class LightspeedConnector(RecordWrites, Connector):
    """Reads and the write dispatch here; the writes themselves in :mod:`.writes`."""

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
    # https://x-series-api.lightspeedhq.com/docs/pagination: no documented maximum for 2.0 collections; Vend's own
    # client uses up to 10,000. 1,000 is a widely used size that keeps a page's memory small.
    max_page_size: ClassVar[int] = 1000
    #: Lightspeed caps a page of sales at 500 (Vend's own Go client, github.com/vend/govend, in
    #: vend/vend-cli); asking for more only gets a capped page that looks short.
    max_sales_page_size: ClassVar[int] = 500
    push_batch_size: ClassVar[int] = 200
    #: Stock levels go in batches this large: an inventory count sets many levels in one operation
    #: (500 counts a call), so it needs them together: each batch costs every outlet's count a
    #: create, a look and a completion on top of its bulk calls. Levels are absolute, so redoing
    #: a batch after a crash is harmless.
    stock_push_batch: ClassVar[int] = 50_000
    #: The stock export's pages (about 1,000 levels) are gathered until this many levels are
    #: planned, then pushed as one batch (``push_gather``; setting ``stock_count_batch``):
    #: 20,000 products x 10 outlets go in 13 batches of counts, not 200. Below
    #: ``stock_push_batch`` by more than a page; it bounds what a push holds in memory (a level
    #: and its plan, about 2.5 KB: 15,000 levels cost about 38 MB).
    stock_push_gather: ClassVar[int] = 15_000
    # https://x-series-api.lightspeedhq.com/docs/rate_limiting: every response carries X-RateLimit-Limit /
    # -Remaining; the 300 s window.
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
    def request(self, method: str, path: str, *, what: str = "", json: Any = None, **kwargs: Any) -> httpx.Response:
        """:meth:`Connector.request`, refused before anything is sent when there is no token."""
        if not self.context.credentials.get("personal_token") and not self.context.credentials.get("access_token"):
            raise AuthError("Lightspeed is not connected for this connection",
                            fix=f"run `tillbridge connect lightspeed -c {self.context.connection}`")
        return super().request(method, path, what=what, json=json, **kwargs)

    def encode_json(self, body: Any) -> bytes:
        return wire.dumps(body)  # Decimal money as exact JSON numbers, not json's floats

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

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

        The documented end is an empty page (https://x-series-api.lightspeedhq.com/docs/pagination), which costs
        one more request per crawl:
        a poll that finds one change would make two. A page shorter than a full one ends the crawl
        instead. "Full" is the smaller of what we asked and the largest page this collection has
        answered, because the server may cap ``page_size`` silently below what we ask
        (https://x-series-api.lightspeedhq.com/docs/pagination:
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
        before its version (the approach of Vend's own CLI,
        https://x-series-api.lightspeedhq.com/reference). Products and customers
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

    def read_ahead(self, entity_type: str) -> bool:
        """Collections page by version (``after``): the next page needs only the cursor. Not the
        inventory: the opening stock adds the till sales not imported yet to each page of levels,
        read right after it (core/opening_stock.py); a page read ahead would widen the gap in
        which a sale is counted twice."""
        return entity_type in {"product", "customer", "sale"}

    def push_gather(self, entity_type: str) -> int:
        if entity_type != "stock":
            return 0
        wanted = int(self.context.settings.get("stock_count_batch") or self.stock_push_gather)
        return max(1, min(wanted, self.stock_push_batch - 10_000))  # a page below the batch limit

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        if entity_type == "stock":
            return self._push_stock(records)
        if entity_type == "product":
            return [self._guard(o, self._push_product) for o in records]
        if entity_type == "customer":
            return [self._guard(o, self._push_customer) for o in records]
        raise Unsupported(f"Lightspeed cannot write {entity_type}")

    def time_zone(self) -> str | None:
        from .dated import retailer_time_zone

        return retailer_time_zone(self)

    def locations(self) -> list[Any]:
        return list(self.fetch("location", None).records)
