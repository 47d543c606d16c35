"""The Unleashed connector: the inventory system of a connection.

Lists are paged as ``/{Resource}/{page}`` with ``pageSize`` up to 1000 and filtered with
``modifiedSince`` (https://apidocs.unleashedsoftware.com/Pagination, https://apidocs.unleashedsoftware.com/SalesOrders).
Our ids are Unleashed Guids chosen by us: ``POST
/Products/{Guid}`` and ``/Customers/{Guid}`` create or update, ``POST /SalesOrders/{Guid}``
creates an order once, so a retried write never makes a second record (https://apidocs.unleashedsoftware.com/Products,
https://apidocs.unleashedsoftware.com/SalesOrders).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, ClassVar, Sequence

import httpx

from tillbridge import (
    ID_NAMESPACE,
    AuthError,
    BomLine,
    Connector,
    CredentialField,
    Entity,
    JsonCursor,
    Outgoing,
    Page,
    PushResult,
    QuotaExhausted,
    RecordRejected,
    RemoteError,
    Sale,
    TillbridgeError,
    Unsupported,
    command,
)

from . import convert
from .auth import UnleashedAuth
from .availability import tree
from .sales_orders import SalesOrders, line_price, percent, tax_map_lookup
from .stock_knowledge import StockKnowledge
from .wire import DISCOUNT_CODE, cents, last_page, money, reason
from .writes import RecordWrites

RESOURCES = {"product": "Products", "customer": "Customers", "location": "Warehouses", "tax": "Taxes",
             "sales_group": "SalesOrderGroups", "bom": "BillOfMaterials", "invoice": "Invoices"}
# Re-read this much before the last crawl's start: covers clock skew between us and the server.
OVERLAP = timedelta(seconds=60)
#: Stock rows per engine page, whatever the number of mapped warehouses (see ``_fetch_stock``).
STOCK_ROWS_PER_PAGE = 1000
#: What a stock level is made of (``convert.stock``); the rest of a stock-on-hand row is dropped,
#: and what is kept is a tuple in this order until the level is handed over (a dict of five
#: would be 232 bytes of a row's 20,000 in a page of 20 warehouses; the tuple is 80).
STOCK_FIELDS = ("ProductGuid", "QtyOnHand", "AllocatedQty", "ProductCode", "LastModifiedOn")

#: Connection setting: batches of writes sent to Unleashed side by side. Unleashed documents no
#: concurrency limit (only the calls per minute and month), so the default is conservative.
PUSH_CONCURRENCY = "unleashed_push_concurrency"
DEFAULT_PUSH_CONCURRENCY = 4
#: Records per push call for the per-record writes (products, customers, sales orders): one, so
#: that a stop (Ctrl-C, an error) between two writes leaves the rest of the page unsent, as when
#: the writes went one at a time in the main thread.
PER_RECORD_BATCH = 1
#: How old the bills of materials may be for the stock export's kits (re-read after a minute).
BOM_CACHE_SECONDS = 60.0
#: How old they may be for laning sales orders: a kit made in Unleashed in the last ten minutes
#: may have its orders side by side with its components' orders, which changes at most which of
#: two orders short of the same stock is parked; reading them once per ten minutes of sales keeps
#: the import at one call an order.
LANE_BOM_SECONDS = 600.0


class UnleashedConnector(RecordWrites, SalesOrders, Connector):
    """Reads and the write dispatch here; the writes themselves in :mod:`.writes` (products,
    customers, opening stock) and :mod:`.sales_orders`."""

    system: ClassVar[str] = "unleashed"
    title: ClassVar[str] = "Unleashed"
    roles: ClassVar[frozenset[str]] = frozenset({"inventory"})
    reads: ClassVar[frozenset[str]] = frozenset({*RESOURCES, "stock"})
    #: "stock": the POS's opening stock, taken in once per product and warehouse (``_push_opening_stock``)
    writes: ClassVar[frozenset[str]] = frozenset({"product", "customer", "sale", "stock"})
    credential_fields = (
        CredentialField("api_id", "API id", help="Settings → Integration → Unleashed API Access"),
        CredentialField("api_key", "API key", secret=True),
    )
    default_base_url: ClassVar[str] = "https://api.unleashedsoftware.com"
    # https://apidocs.unleashedsoftware.com/Pagination: pageSize default 200, maximum 1000
    max_page_size: ClassVar[int] = 1000
    push_batch_size: ClassVar[int] = 100
    default_headers: ClassVar[dict[str, str]] = {"Accept": "application/json", "Content-Type": "application/json"}
    emulator: ClassVar[str | None] = "unleashed"

    @classmethod
    def make_auth(cls, credentials: dict[str, Any], save_credentials: Callable[..., None]) -> httpx.Auth:
        return UnleashedAuth(credentials)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        # held across the look-up and the create of the integration's own records: sales of two
        # warehouses pushed side by side must not both create the walk-in customer
        self._ensure_lock = threading.Lock()
        self._warehouses: dict[str, dict[str, Any]] | None = None
        self._taxes: list[dict[str, Any]] | None = None
        self._default_customer: str | None = None
        self._discount_product: str | None = None
        self._order_refs: dict[str, str] = {}  # OrderNumber → CustomerRef: fixed once the order exists
        #: products this connector created never-diminishing (no opening stock for them)
        self._never_diminishing: set[str] = set()
        #: (product, warehouse) → (on hand, value) before the opening stock being pushed
        #: (kept per thread: batches of opening stock may be pushed side by side)
        self._pushing = threading.local()
        #: stocked products this connector created (they hold nothing until stock is taken in)
        self._created_products: set[str] = set()
        #: what we know of stock without asking: (product, warehouse) → (available, when learnt)
        self._known_stock = StockKnowledge()
        #: (when read, kit → components) of the auto-assembling bills of materials
        self._boms: tuple[float, dict[str, list[tuple[str, Decimal]]]] | None = None
        self._bom_lock = threading.Lock()
        #: batches pushed side by side (Unleashed documents no concurrency limit: a setting)
        self.push_concurrency = max(1, int(context.settings.get(PUSH_CONCURRENCY) or DEFAULT_PUSH_CONCURRENCY))
        #: (cursor key, rows of the stock page being handed over by product, warehouses it finished)
        self._stock_page: tuple[str, list[list[tuple[str, tuple[Any, ...]]]], set[str]] | None = None

    # --- plumbing -------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, what: str = "", json: Any = None, **kwargs: Any) -> httpx.Response:
        """:meth:`Connector.request`, refused before anything is sent when there are no keys to sign with."""
        if not self.context.credentials.get("api_id") or not self.context.credentials.get("api_key"):
            raise AuthError("Unleashed is not connected for this connection",
                            fix=f"run `tillbridge connect unleashed -c {self.context.connection}`")
        return super().request(method, path, what=what, json=json, **kwargs)

    def encode_json(self, body: Any) -> str:
        return json.dumps(body, default=_json_default)

    def classify(self, response: httpx.Response, *, what: str = "") -> TillbridgeError | None:
        """A 429 that names the monthly quota (no short wait helps), 403 as bad keys, and a 400's
        validation messages quoted (the common mapping would quote the raw body)."""
        if response.status_code == 429 and "quota" in response.text.lower():
            return QuotaExhausted("the Unleashed monthly API quota is used up; calls resume after the reset",
                                  status=429, fix="wait for the reset (1st of the month, 00:00 UTC) or buy more calls")
        if response.status_code == 403:
            return AuthError("Unleashed refused the API id and key (HTTP 403)",
                             fix="check them in Unleashed (Integration → API Access) and run "
                                 f"`tillbridge connect unleashed -c {self.context.connection}` again")
        if response.status_code == 400:
            action = f" {what}" if what else ""
            return RemoteError(f"Unleashed refused the request{action} (HTTP 400: {_validation_detail(response)})",
                               status=400)
        return None

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    def det_id(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"{self.context.connection}/unleashed/{kind}/{key}"))

    # --- reads ----------------------------------------------------------------------------------
    def check(self) -> str:
        warehouses = self._get("/Warehouses", pageSize=200).get("Items") or []
        return f"Unleashed account: {len(warehouses)} warehouses"

    def fetch(self, entity_type: str, cursor: str | None, *, since: datetime | None = None) -> Page:
        if entity_type == "stock":
            return self._fetch_stock(cursor, since)
        resource = RESOURCES.get(entity_type)
        if resource is None:
            raise Unsupported(f"Unleashed cannot read {entity_type}")
        if entity_type in {"location", "tax", "sales_group"}:
            items = self._get(f"/{resource}", pageSize=self.max_page_size).get("Items") or []
            return Page(records=self._convert(entity_type, items), cursor=None, more=False)
        state = JsonCursor.load(cursor, since=None, page=1, started=None)
        if since is not None:
            state = {"since": convert.wire_date(since), "page": 1, "started": None}
        if state["page"] == 1:
            state["started"] = convert.wire_date(datetime.now(timezone.utc) - OVERLAP)
        params: dict[str, Any] = {"pageSize": self.context.page_size or self.max_page_size}
        if entity_type in {"product", "customer"}:
            params["includeObsolete"] = "true"
        if state["since"]:
            params["modifiedSince"] = state["since"]
        body = self._get(f"/{resource}/{state['page']}", **params)
        items = [i for i in body.get("Items") or [] if not self._is_own_artefact(entity_type, i)]
        more = not last_page(body, state["page"])
        records = self._convert(entity_type, items)
        if more:
            nxt = JsonCursor.dump(since=state["since"], page=state["page"] + 1, started=state["started"])
        else:
            nxt = JsonCursor.dump(since=state["started"], page=1, started=None)
        return Page(records=records, cursor=nxt, more=more)

    def _is_own_artefact(self, entity_type: str, item: dict[str, Any]) -> bool:
        """The discount product and the walk-in customer exist for the integration only."""
        if entity_type == "product":
            return item.get("ProductCode") == DISCOUNT_CODE
        if entity_type == "customer":
            return item.get("CustomerCode") == str(self.context.settings.get("default_customer") or "WALKIN")
        return False

    def _convert(self, entity_type: str, items: list[dict[str, Any]]) -> list[Entity]:
        if entity_type == "product":
            return [convert.product(i) for i in items]
        if entity_type == "customer":
            return [convert.customer(i) for i in items]
        if entity_type == "location":
            return [convert.warehouse(i) for i in items if not i.get("Obsolete")]
        if entity_type == "tax":
            return [convert.tax(i) for i in items]
        if entity_type == "sales_group":
            return [convert.sales_group(i) for i in items]
        if entity_type == "bom":
            return [line for i in items for line in convert.bom_lines(i)]
        if entity_type == "invoice":
            references = self._order_references(items)  # once per page, not once per invoice
            return [convert.invoice(i, references) for i in items]
        raise Unsupported(f"Unleashed cannot read {entity_type}")

    def warehouses(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._warehouses is None:
                items = self._get("/Warehouses", pageSize=self.max_page_size).get("Items") or []
                self._warehouses = {w["Guid"]: w for w in items}
            return self._warehouses

    def _fetch_stock(self, cursor: str | None, since: datetime | None) -> Page:
        """Stock on hand of every mapped warehouse, page *n* of each in one go.

        Rows come ordered by product code in every warehouse, so page *n* of each warehouse
        covers the same products: the POS can then be sent one request per product carrying all
        of its outlets. Each warehouse keeps its own ``modifiedSince``, so a newly mapped
        warehouse starts with a full read.

        Page *n* of 20 warehouses is 20,000 rows: handed to the engine at once, a sync's memory
        would grow with the number of outlets. The rows are kept slim and handed over about
        :data:`STOCK_ROWS_PER_PAGE` at a time, all outlets of a product together (``skip`` in
        the cursor says how many products of page *n* are done). After a restart mid-page, page
        *n* is read again and its first ``skip`` products passed over.
        """
        mapped = sorted(self.context.mapped_locations())
        state = JsonCursor.load(cursor, since={}, page=1, started=None, done=[], skip=0)
        if not mapped:
            return Page(records=[], cursor=cursor, more=False)
        if since is not None:
            state["since"] = {w: convert.wire_date(since) for w in mapped}
        if state["page"] == 1 and not state["skip"]:
            state["started"], state["done"] = convert.wire_date(datetime.now(timezone.utc) - OVERLAP), []
        key = JsonCursor.dump(mapped=mapped, **{k: v for k, v in state.items() if k != "skip"})
        if self._stock_page is None or self._stock_page[0] != key:
            self._stock_page = None  # let the previous page go before reading the next
            products, finished = self._read_stock_page(mapped, state)
            self._stock_page = (key, products, finished)
        _, products, finished = self._stock_page
        skip = min(state["skip"], len(products))
        end, rows = skip, 0
        while end < len(products) and (end == skip or rows + len(products[end]) <= STOCK_ROWS_PER_PAGE):
            rows += len(products[end])
            end += 1
        records = [convert.stock(dict(zip(STOCK_FIELDS, row)), warehouse)
                   for product in products[skip:end] for warehouse, row in product]
        if end < len(products):
            return Page(records=records, cursor=JsonCursor.dump(**{**state, "skip": end}), more=True)
        self._stock_page = None
        done = sorted(set(state["done"]) | finished)
        if len(done) < len(mapped):
            nxt = {**state, "page": state["page"] + 1, "done": done, "skip": 0}
            return Page(records=records, cursor=JsonCursor.dump(**nxt), more=True)
        new_since = {**state["since"], **{w: state["started"] for w in mapped}}
        return Page(records=records, more=False,
                    cursor=JsonCursor.dump(since=new_since, page=1, started=None, done=[], skip=0))

    def _read_stock_page(self, mapped: list[str], state: dict[str, Any]
                         ) -> tuple[list[list[tuple[str, tuple[Any, ...]]]], set[str]]:
        """Page ``state["page"]`` of each mapped warehouse not done yet: the rows grouped by
        product (in product-code order), slimmed to what a stock level needs, and the
        warehouses this page finished."""
        known = self.warehouses()
        by_product: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}
        finished: set[str] = set()
        wanted = [w for w in mapped if w not in state["done"]]
        for warehouse in wanted:
            if warehouse not in known:
                raise RemoteError(f"warehouse {warehouse} is no longer in Unleashed",
                                  fix="reload outlets and fix the outlet → warehouse mapping")

        def read(warehouse: str) -> tuple[list[tuple[Any, ...]], bool]:
            """One warehouse's page, slimmed where it is read (1,000 whole rows are megabytes)."""
            params: dict[str, Any] = {"pageSize": self.context.page_size or self.max_page_size,
                                      "warehouseCode": known[warehouse]["WarehouseCode"]}
            if state["since"].get(warehouse):
                params["modifiedSince"] = state["since"][warehouse]
            body = self._get(f"/StockOnHand/{state['page']}", **params)
            rows = []
            for item in body.get("Items") or []:
                rows.append((item.get("ProductGuid") or item["Guid"], *(item.get(k) for k in STOCK_FIELDS[1:])))
            return rows, last_page(body, state["page"])

        # The warehouses' pages side by side (as many as the writes may be), taken in order.
        width = min(self.push_concurrency, len(wanted))
        if width > 1:
            with ThreadPoolExecutor(width, thread_name_prefix="tillbridge-unleashed-stock") as pool:
                pages = list(pool.map(read, wanted))
        else:
            pages = [read(w) for w in wanted]
        for warehouse, (rows, last) in zip(wanted, pages):
            for row in rows:
                guid, on_hand, allocated = row[0], row[1], row[2]
                by_product.setdefault(guid, []).append((warehouse, row))
                self._known_stock.learn(guid, warehouse, convert.dec(on_hand) - convert.dec(allocated))
            if last:
                finished.add(warehouse)

        def code_order(rows: list[tuple[str, tuple[Any, ...]]]) -> tuple[str, str]:
            row = rows[0][1]
            return str(row[3] or "").upper(), row[0]

        return sorted(by_product.values(), key=code_order), finished

    def stock_for(self, warehouse_guid: str, product_guids: Sequence[str]) -> list[dict[str, Any]]:
        """Stock rows of some products in one warehouse (used to compute buildable kits)."""
        code = self.warehouses()[warehouse_guid]["WarehouseCode"]
        rows: list[dict[str, Any]] = []
        ids = sorted(set(product_guids))
        for start in range(0, len(ids), 100):
            body = self._get("/StockOnHand", warehouseCode=code, productId=",".join(ids[start:start + 100]),
                             pageSize=self.max_page_size)
            rows.extend(body.get("Items") or [])
        return rows

    def get(self, entity_type: str, record_id: str) -> Entity | None:
        resource = RESOURCES.get(entity_type)
        if resource is None or entity_type in {"location", "tax", "sales_group"}:
            raise Unsupported(f"Unleashed cannot read one {entity_type}")
        try:
            data = self._get(f"/{resource}/{record_id}")
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise
        records = self._convert(entity_type, [data])
        return records[0] if records else None

    # --- writes ---------------------------------------------------------------------------------
    def read_ahead(self, entity_type: str) -> bool:
        """Pages are numbered (``/{Resource}/{page}``, the stock on hand page *n* of each
        warehouse, handed over in parts): the next page needs only the cursor, and the reads
        come one after another in the reader's thread."""
        return entity_type == "stock" or entity_type in RESOURCES

    def push_lane(self, entity_type: str, outgoing: Outgoing) -> str | list[str] | None:
        """A sales order's lanes: ``warehouse:product`` for each stocked product it takes, and for
        each component an auto-assembled kit on it would consume. Completing an order takes (or,
        short, allocates) that warehouse's stock of those products in turn
        (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction),
        so orders that share one keep the POS's order and the rest go side by side. An order of
        only non-stock products, products and customers are independent."""
        if entity_type != "sale" or not isinstance(outgoing.entity, Sale):
            return None
        sale = outgoing.entity
        products = {line.product_id for line in sale.lines if line.product_id}
        with self._lock:
            products -= self._never_diminishing
        if not products:
            return None
        boms = self.auto_assembly_boms(max_age=LANE_BOM_SECONDS)
        taken = set(products)
        for product in products:
            if product in boms:
                taken |= tree(product, boms)
        return [f"{sale.location_id}:{product}" for product in sorted(taken)]

    def auto_assembly_boms(self, max_age: float = BOM_CACHE_SECONDS) -> dict[str, list[tuple[str, Decimal]]]:
        """Kit → its (component, quantity per kit), for the bills of materials that auto-assemble;
        read again when older than ``max_age`` seconds (every page of ``/BillOfMaterials``)."""
        with self._bom_lock:
            if self._boms is not None and time.monotonic() - self._boms[0] < max_age:
                return self._boms[1]
            boms: dict[str, list[tuple[str, Decimal]]] = {}
            cursor = None
            while True:
                page = self.fetch("bom", cursor)
                for line in page.records:
                    if isinstance(line, BomLine) and line.can_auto_assemble:
                        boms.setdefault(line.assembly_id, []).append((line.component_id, line.quantity))
                cursor = page.cursor
                if not page.more:
                    break
            self._boms = (time.monotonic(), boms)
            return boms

    def push_batch_limit(self, entity_type: str) -> int:
        """One request per record, except the opening stock's one on-hand read per 100 products:
        small batches for the rest, so that ``push_concurrency`` of them go side by side."""
        return self.push_batch_size if entity_type == "stock" else PER_RECORD_BATCH

    def push(self, entity_type: str, records: Sequence[Outgoing]) -> list[PushResult]:
        writer = {"product": self._push_product, "customer": self._push_customer, "sale": self._push_sale,
                  "stock": self._push_opening_stock}.get(entity_type)
        if writer is None:
            raise Unsupported(f"Unleashed cannot write {entity_type}")
        if entity_type == "stock":
            self._pushing.held_now = self._on_hand_of([o for o in records if not o.exists])
        return [self._guard(o, writer) for o in records]

    def _guard(self, o: Outgoing, write: Callable[[Outgoing], PushResult]) -> PushResult:
        try:
            return write(o)
        except RecordRejected as exc:
            exc.key = exc.key or o.source_key
            return PushResult(o.source_id, "failed", error=exc)
        except RemoteError as exc:
            if exc.status == 400 or exc.status == 404:
                rejected = _rejection(exc, o, self.context.connection, self.context.peer_name("pos"))
                return PushResult(o.source_id, "failed", error=rejected)
            raise


def _validation_detail(response: httpx.Response) -> str:
    """A 400 body in a sentence: ``Description`` then each item's message (the body is opaque per
    https://apidocs.unleashedsoftware.com/; the emulator's ``{"Description", "Items": [{"Field", "Message"}]}``
    reads well)."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:500] or "no detail"
    if not isinstance(body, dict):
        return str(body)[:500]
    parts = [str(body.get("Description") or "").strip()]
    for item in body.get("Items") or []:
        if isinstance(item, dict) and item.get("Message"):
            parts.append(str(item["Message"]).strip())
    text = " ".join(dict.fromkeys(p for p in parts if p))
    return text[:1000] or " ".join(response.text.split())[:500]


def _rejection(exc: RemoteError, o: Outgoing, connection: str, source: str = "the point of sale") -> RecordRejected:
    """``source``: the name of the system the record came from, where the user corrects it."""
    detail = reason(exc)
    fix = ("correct the record in the system it comes from, then press Re-import on this line (or "
           f"{command('reimport', '--record', o.source_key, '-c', connection)})")
    lowered = detail.lower()
    if "productcode" in lowered.replace(" ", "") and ("100" in lowered or "long" in lowered):
        fix = (f"shorten the product code to 100 characters or fewer in {source}, then press Re-import on this "
               f"line (or {command('reimport', '--record', o.source_key, '-c', connection)})")
    elif "salesordergroup" in lowered.replace(" ", "") or "sales group" in lowered:
        fix = ("pick a sales group that exists in Unleashed under Configuration → Add sales group "
               f"(or {command('settings', 'set', 'sales_group', 'NAME', '-c', connection)})")
    return RecordRejected(f"Unleashed refused {o.source_key[:60]}: {detail}", key=o.source_key, fix=fix)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    raise TypeError(f"cannot serialise {type(value).__name__}")


__all__ = ["DEFAULT_PUSH_CONCURRENCY", "PUSH_CONCURRENCY", "UnleashedConnector", "cents", "line_price", "money",
           "percent", "tax_map_lookup"]
