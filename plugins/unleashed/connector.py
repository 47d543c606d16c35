"""The Unleashed connector: the inventory system of a connection.

Lists are paged as ``/{Resource}/{page}`` with ``pageSize`` up to 1000 and filtered with
``modifiedSince`` (notes §2, §3). Our ids are Unleashed Guids chosen by us: ``POST
/Products/{Guid}`` and ``/Customers/{Guid}`` create or update, ``POST /SalesOrders/{Guid}``
creates an order once, so a retried write never makes a second record (notes §4.2, §4.6).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, ClassVar, Sequence

import httpx

from tillbridge import (
    ID_NAMESPACE,
    AuthError,
    Connector,
    CredentialField,
    Customer,
    Entity,
    JsonCursor,
    Outgoing,
    Page,
    Product,
    PushResult,
    QuotaExhausted,
    RecordRejected,
    RemoteError,
    Sale,
    StockLevel,
    Unsupported,
    check_response,
    command,
    describe_transport_error,
)

from . import convert
from .auth import UnleashedAuth
from .stock_knowledge import StockKnowledge

RESOURCES = {"product": "Products", "customer": "Customers", "location": "Warehouses", "tax": "Taxes",
             "sales_group": "SalesOrderGroups", "bom": "BillOfMaterials", "invoice": "Invoices"}
CENT = Decimal("0.01")
# Re-read this much before the last crawl's start: covers clock skew between us and the server.
OVERLAP = timedelta(seconds=60)
# An invoice is dated when its order completes; this much either side finds the order by its
# CompletedDate without listing a day of other orders (filter dates are to the second, notes §3).
COMPLETION_SLACK = timedelta(minutes=5)
#: Stock rows per engine page, whatever the number of mapped warehouses (see ``_fetch_stock``).
STOCK_ROWS_PER_PAGE = 1000
#: What a stock level is made of (``convert.stock``); the rest of a stock-on-hand row is dropped.
STOCK_FIELDS = ("ProductGuid", "QtyOnHand", "AllocatedQty", "ProductCode", "LastModifiedOn")
#: ``AdjustmentReason`` of the opening stock (20 characters at most, notes §4.12).
OPENING_REASON = "Opening stock"
DISCOUNT_CODE = "DISCOUNT"  # notes §8: "a special discount product is created at setup"
# A gap between the POS subtotal and the sum of rounded lines up to this per line is rounding.
ROUNDING_PER_LINE = Decimal("0.005")


def money(value: Decimal) -> float:
    """Wire form of an amount: a JSON number. Decimal until here; 2-dp values round-trip exactly."""
    return float(value)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


#: Connection setting: batches of writes sent to Unleashed side by side. Unleashed documents no
#: concurrency limit (only the calls per minute and month), so the default is conservative.
PUSH_CONCURRENCY = "unleashed_push_concurrency"
DEFAULT_PUSH_CONCURRENCY = 4
#: Records per push call for the per-record writes (products, customers, sales orders): one, so
#: that a stop (Ctrl-C, an error) between two writes leaves the rest of the page unsent, as when
#: the writes went one at a time in the main thread.
PER_RECORD_BATCH = 1


class UnleashedConnector(Connector):
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
    max_page_size: ClassVar[int] = 1000  # notes §2: pageSize default 200, maximum 1000
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
        #: batches pushed side by side (Unleashed documents no concurrency limit: a setting)
        self.push_concurrency = max(1, int(context.settings.get(PUSH_CONCURRENCY) or DEFAULT_PUSH_CONCURRENCY))
        #: (cursor key, rows of the stock page being handed over by product, warehouses it finished)
        self._stock_page: tuple[str, list[list[tuple[str, dict[str, Any]]]], set[str]] | None = None

    # --- plumbing -------------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, what: str = "", **kwargs: Any) -> httpx.Response:
        if not self.context.credentials.get("api_id") or not self.context.credentials.get("api_key"):
            raise AuthError("Unleashed is not connected for this connection",
                            fix=f"run `tillbridge connect unleashed -c {self.context.connection}`")
        if "json" in kwargs:
            kwargs["content"] = json.dumps(kwargs.pop("json"), default=_json_default)
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise describe_transport_error(exc, "Unleashed", self.context.base_url) from None
        if response.status_code == 429 and "quota" in response.text.lower():
            raise QuotaExhausted("the Unleashed monthly API quota is used up; calls resume after the reset",
                                 status=429, fix="wait for the reset (1st of the month, 00:00 UTC) or buy more calls")
        if response.status_code == 403:
            raise AuthError("Unleashed refused the API id and key (HTTP 403)",
                            fix="check them in Unleashed (Integration → API Access) and run "
                                f"`tillbridge connect unleashed -c {self.context.connection}` again")
        if response.status_code == 400:
            action = f" {what}" if what else ""
            raise RemoteError(f"Unleashed refused the request{action} (HTTP 400: {_validation_detail(response)})",
                              status=400)
        return check_response(response, "Unleashed", what=what)

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

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
        more = not _last_page(body, state["page"])
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

    def _order_references(self, invoices: list[dict[str, Any]]) -> dict[str, str]:
        """OrderNumber → CustomerRef (the POS sale number we put on each order).

        An invoice does not carry its order's CustomerRef, so the orders are read: listed by
        completion time (an invoice is made when its order completes, so the orders of a page of
        invoices were completed when those invoices were dated), a request per 1,000 orders
        rather than one per invoice. An order not found that way (dated otherwise) is asked for
        by number.
        """
        numbers = {i["OrderNumber"] for i in invoices if i.get("OrderNumber")}
        refs = {n: self._order_refs[n] for n in numbers if n in self._order_refs}  # the overlap re-read
        wanted = numbers - refs.keys()
        when = (convert.when(i.get("InvoiceDate")) for i in invoices if i.get("OrderNumber") in wanted)
        dated = [d for d in when if d is not None]
        if dated:
            refs.update(self._references_completed_between(min(dated) - COMPLETION_SLACK,
                                                           max(dated) + COMPLETION_SLACK, wanted))
        for number in sorted(wanted - refs.keys()):
            order = self._get("/SalesOrders", orderNumber=number).get("Items") or []
            if order and order[0].get("CustomerRef"):
                refs[number] = order[0]["CustomerRef"]
        if len(self._order_refs) > 20_000:
            self._order_refs.clear()
        self._order_refs.update(refs)
        return refs

    def _references_completed_between(self, start: datetime, end: datetime, wanted: set[str]) -> dict[str, str]:
        refs: dict[str, str] = {}
        page, more = 1, True
        while more and len(refs) < len(wanted):
            body = self._get(f"/SalesOrders/{page}", orderStatus="Completed", pageSize=self.max_page_size,
                             completedAfter=convert.wire_date(start), completedBefore=convert.wire_date(end))
            for order in body.get("Items") or []:
                if order.get("OrderNumber") in wanted and order.get("CustomerRef"):
                    refs[order["OrderNumber"]] = order["CustomerRef"]
            more = not _last_page(body, page)
            page += 1
        return refs

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
        records = [convert.stock(row, warehouse) for product in products[skip:end] for warehouse, row in product]
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
                         ) -> tuple[list[list[tuple[str, dict[str, Any]]]], set[str]]:
        """Page ``state["page"]`` of each mapped warehouse not done yet: the rows grouped by
        product (in product-code order), slimmed to what a stock level needs, and the
        warehouses this page finished."""
        known = self.warehouses()
        by_product: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        finished: set[str] = set()
        for warehouse in mapped:
            if warehouse in state["done"]:
                continue
            if warehouse not in known:
                raise RemoteError(f"warehouse {warehouse} is no longer in Unleashed",
                                  fix="reload outlets and fix the outlet → warehouse mapping")
            params: dict[str, Any] = {"pageSize": self.context.page_size or self.max_page_size,
                                      "warehouseCode": known[warehouse]["WarehouseCode"]}
            if state["since"].get(warehouse):
                params["modifiedSince"] = state["since"][warehouse]
            body = self._get(f"/StockOnHand/{state['page']}", **params)
            for item in body.get("Items") or []:
                row = {k: item.get(k) for k in STOCK_FIELDS}
                guid = row["ProductGuid"] = item.get("ProductGuid") or item["Guid"]
                by_product.setdefault(guid, []).append((warehouse, row))
                self._known_stock.learn(guid, warehouse, convert.dec(row["QtyOnHand"]) - convert.dec(row["AllocatedQty"]))
            if _last_page(body, state["page"]):
                finished.add(warehouse)
        def code_order(rows: list[tuple[str, dict[str, Any]]]) -> tuple[str, str]:
            row = rows[0][1]
            return str(row["ProductCode"] or "").upper(), row["ProductGuid"]

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
    def push_lane(self, entity_type: str, outgoing: Outgoing) -> str | None:
        """Sales orders of one warehouse in the POS's order (each allocates that warehouse's stock
        in turn: notes §8); products, customers and other warehouses' orders are independent."""
        if entity_type == "sale" and isinstance(outgoing.entity, Sale):
            return f"warehouse:{outgoing.entity.location_id}"
        return None

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

    def _post(self, path: str, body: dict[str, Any], what: str) -> httpx.Response:
        return self._request("POST", path, json=body, what=what)

    def _push_product(self, o: Outgoing) -> PushResult:
        p = o.entity
        assert isinstance(p, Product)
        body: dict[str, Any] = {
            "Guid": o.target_id, "ProductCode": p.code, "ProductDescription": p.description,
            "DefaultSellPrice": money(p.sell_price) if p.sell_price is not None else None,
            "DefaultPurchasePrice": money(p.cost_price) if p.cost_price is not None else None,
            # "" clears notes removed at the source (an absent field would keep the old text).
            "Notes": p.notes or "", "Barcode": p.barcode, "Obsolete": p.obsolete, "IsSellable": True,
        }
        if not o.exists:
            # A POS product that does not track inventory (a service, a gift wrap) is a
            # never-diminishing product in Unleashed: its sales never wait for stock. Set when the
            # product is created only: Unleashed decides stock tracking of a product it holds.
            body["NeverDiminishing"] = not p.tracks_inventory
        current = self._current_product(o.target_id) if self._must_read(o) else None
        if current is not None:
            if _same_code(current.get("ProductCode"), p.code):
                # A code exported to Lightspeed comes back without its spaces (notes §8): the
                # records are bound by id, so keep Unleashed's spelling rather than rename it.
                body["ProductCode"] = current["ProductCode"]
            if o.update_fields is not None:
                # Unleashed wants whole objects on update (notes §5): keep what it holds for
                # the fields the other system is master of ("Update products").
                keep = {"sell_price": "DefaultSellPrice", "notes": "Notes", "description": "ProductDescription"}
                for field_name, wire in keep.items():
                    if field_name not in o.update_fields:
                        body[wire] = current.get(wire)
        body = {k: v for k, v in body.items() if v is not None}
        if current is not None and _holds(current, body):
            # Unleashed has all of it already: a POST would only bump LastModifiedOn, which the
            # export flow would read as a change and send back (ping-pong between the systems).
            return PushResult(o.source_id, "unchanged", target_id=o.target_id)
        try:
            response = self._post(f"/Products/{o.target_id}", body, "saving a product")
        except RemoteError as exc:
            twin = self._existing("Products", "productCode", "ProductCode", p.code) if exc.status == 400 else None
            if twin is None or twin == o.target_id:
                raise
            # The code already exists under another Guid (made in Unleashed itself): bind to it,
            # leaving its stock tracking as Unleashed has it.
            body["Guid"] = twin
            body.pop("NeverDiminishing", None)
            response = self._post(f"/Products/{twin}", body, "saving a product")
            return PushResult(o.source_id, "updated", target_id=twin, stored=_stored(convert.product, response))
        if body.get("NeverDiminishing"):
            self._never_diminishing.add(o.target_id)
        elif response.status_code == 201:
            self._created_products.add(o.target_id)  # it holds no stock anywhere yet
        return PushResult(o.source_id, "created" if response.status_code == 201 else "updated",
                          target_id=o.target_id, stored=_stored(convert.product, response))

    @staticmethod
    def _must_read(o: Outgoing) -> bool:
        """Read the product before writing it only where the write depends on what it holds.

        A read per update would double the calls of every product sync, so it is done only
        when: the other system is master of some fields (Unleashed wants whole objects, notes
        §5: keep its values of those); the record is re-sent though unchanged (it may have been
        edited by hand: write only what differs); or the code came back from Lightspeed without
        its spaces (notes §8: keep Unleashed's spelling, and do not write what Unleashed already
        holds, which would bump LastModifiedOn and send the product round again).
        """
        if not o.exists:
            return False
        spaced = o.target_key is not None and _same_code(o.target_key, o.entity.key)
        return o.update_fields is not None or o.resend or spaced

    # --- opening stock ----------------------------------------------------------------------------
    def _push_opening_stock(self, o: Outgoing) -> PushResult:
        """The POS's stock on hand of one product in one warehouse, once, with its value.

        One completed stock adjustment (notes §4.12: ``POST /StockAdjustments/{Guid}``; lines
        set ``NewQuantity`` and ``NewActualValue``) whose Guid is derived from the connection,
        the product and the warehouse: a second attempt (a re-run, a crash, another worker)
        names the same adjustment, which Unleashed refuses as existing, so stock is never
        counted twice. Nothing is written for a product that does not track stock or for a
        level of zero or less (Unleashed starts at zero and holds no negative stock).
        """
        level = o.entity
        assert isinstance(level, StockLevel)
        product, warehouse = level.product_id, level.location_id
        guid = self.det_id("opening-stock", f"{product}@{warehouse}")
        if o.exists or level.on_hand <= 0 or product in self._never_diminishing:
            if not o.exists and product in self._created_products:
                self._known_stock.learn(product, warehouse, Decimal(0))  # created by us, nothing taken in
            return PushResult(o.source_id, "unchanged", target_id=guid)
        # Lines set the new quantity and value (notes §4.12): what the warehouse holds already
        # (stock received in Unleashed since the product was created) plus the POS's.
        held, held_value = getattr(self._pushing, "held_now", {}).get((product, warehouse), (Decimal(0), Decimal(0)))
        line: dict[str, Any] = {"Product": {"Guid": product}, "NewQuantity": held + level.on_hand,
                                "Comments": f"Opening stock from {(o.source_system or 'the POS').title()}"}
        if level.unit_cost is not None and level.unit_cost >= 0:
            line["NewActualValue"] = cents(held_value + level.on_hand * level.unit_cost)
        body = {"Guid": guid, "AdjustmentReason": OPENING_REASON, "Status": "Completed",
                "AdjustmentDate": datetime.now(timezone.utc), "Warehouse": {"Guid": warehouse},
                "StockAdjustmentLines": [line]}
        try:
            self._post(f"/StockAdjustments/{guid}", body, "taking in opening stock")
        except RemoteError as exc:
            if exc.status != 400:
                raise
            if self._existing_adjustment(guid) is None:
                current = self._current_product(product) or {}
                if not current.get("NeverDiminishing"):
                    raise
                self._never_diminishing.add(product)  # made non-stock in Unleashed: no stock to take in
            return PushResult(o.source_id, "unchanged", target_id=guid)  # taken in already
        if product in self._created_products and not held:
            self._known_stock.learn(product, warehouse, level.on_hand)
        return PushResult(o.source_id, "created", target_id=guid)

    def _on_hand_of(self, records: Sequence[Outgoing]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(product, warehouse) → (QtyOnHand, its value) now, for the levels about to be taken in:
        one request per warehouse and 100 products (products never moved have no row: zero)."""
        wanted: dict[str, set[str]] = {}
        for o in records:
            level = o.entity
            if isinstance(level, StockLevel) and level.on_hand > 0 and level.product_id not in self._never_diminishing:
                wanted.setdefault(level.location_id, set()).add(level.product_id)
        held: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        known = self.warehouses()
        for warehouse, products in sorted(wanted.items()):
            if warehouse not in known:
                continue  # obsolete or gone: the adjustment is refused with Unleashed's reason
            for row in self.stock_for(warehouse, sorted(products)):
                quantity = convert.dec(row.get("QtyOnHand"))
                value = convert.dec(row.get("TotalCost")) if row.get("TotalCost") is not None \
                    else quantity * convert.dec(row.get("AvgCost"))
                held[(row.get("ProductGuid") or row["Guid"], warehouse)] = (quantity, value)
        return held

    def _existing_adjustment(self, guid: str) -> dict[str, Any] | None:
        try:
            found = self._get(f"/StockAdjustments/{guid}")
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) and found.get("Guid") else None

    def _current_product(self, guid: str) -> dict[str, Any] | None:
        try:
            found = self._get(f"/Products/{guid}")
        except RemoteError as exc:
            if exc.status == 404:
                return None  # deleted in Unleashed meanwhile: the POST below creates it again
            raise
        return found if isinstance(found, dict) else None

    def _existing(self, resource: str, param: str, field_name: str, code: str) -> str | None:
        # Code filters are prefix matches (notes §3): check equality ourselves.
        items = self._get(f"/{resource}", **{param: code}).get("Items") or []
        return next((i["Guid"] for i in items if i.get(field_name) == code), None)

    def _push_customer(self, o: Outgoing) -> PushResult:
        c = o.entity
        assert isinstance(c, Customer)
        body = {"Guid": o.target_id, "CustomerCode": c.code, "CustomerName": c.name, "Email": c.email,
                "ContactFirstName": c.first_name, "ContactLastName": c.last_name, "PhoneNumber": c.phone,
                "Obsolete": c.obsolete}
        body = {k: v for k, v in body.items() if v is not None}
        try:
            response = self._post(f"/Customers/{o.target_id}", body, "saving a customer")
        except RemoteError as exc:
            twin = self._existing("Customers", "customerCode", "CustomerCode", c.code) if exc.status == 400 else None
            if twin is None or twin == o.target_id:
                raise
            body["Guid"] = twin
            response = self._post(f"/Customers/{twin}", body, "saving a customer")
            return PushResult(o.source_id, "updated", target_id=twin, stored=_stored(convert.customer, response))
        return PushResult(o.source_id, "created" if response.status_code == 201 else "updated",
                          target_id=o.target_id, stored=_stored(convert.customer, response))

    # --- sales orders ---------------------------------------------------------------------------
    def _taxes_list(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._taxes is None:
                self._taxes = self._get("/Taxes").get("Items") or []
            return self._taxes

    def tax_code(self, rate: Decimal, pos_tax_id: str | None) -> str:
        """The Unleashed revenue tax code for a POS tax: by rate, unless ``tax_map`` names one.

        ``tax_map`` keys may be the POS tax id or the rate (``"15%"`` or ``"0.15"``): where two
        Unleashed codes share a rate (notes §4.9: codes are not unique by rate), the retailer says
        which one to use.
        """
        explicit = tax_map_lookup(self.context.settings.get("tax_map") or {}, rate, pos_tax_id)
        if explicit:
            return explicit
        revenue = [t for t in self._taxes_list() if t.get("CanApplyToRevenue", True) and not t.get("Obsolete")]
        matches = sorted({t["TaxCode"] for t in revenue
                          if convert.dec(t.get("TaxRate")).quantize(Decimal("0.0001")) == rate.quantize(Decimal("0.0001"))})
        if len(matches) == 1:
            return matches[0]
        key = percent(rate)
        if not matches:
            raise RecordRejected(f"no Unleashed tax code has the rate {key}",
                                 fix=f"add a {key} tax rate in Unleashed (Settings → Taxes), or pick the tax code to use "
                                     f"on the Configuration tab → Advanced → Tax mapping (or "
                                     f"{command('settings', 'set', 'tax_map', json.dumps({key: 'CODE'}), '-c', self.context.connection)}); "
                                     f"then press Re-import (or {command('reimport', '--entity', 'sale', '-c', self.context.connection)})")
        raise RecordRejected(f"several Unleashed tax codes have the rate {key}: {', '.join(matches)}",
                             fix=f"say which on the Configuration tab → Advanced → Tax mapping (or "
                                 f"{command('settings', 'set', 'tax_map', json.dumps({key: matches[0]}), '-c', self.context.connection)}); "
                                 f"then press Re-import (or {command('reimport', '--entity', 'sale', '-c', self.context.connection)})")

    def _ensure_default_customer(self) -> str:
        with self._ensure_lock:
            with self._lock:
                if self._default_customer:
                    return self._default_customer
            code = str(self.context.settings.get("default_customer") or "WALKIN")
            guid = self._existing("Customers", "customerCode", "CustomerCode", code)
            if guid is None:
                guid = self.det_id("customer", code)
                self._post(f"/Customers/{guid}", {"Guid": guid, "CustomerCode": code, "CustomerName": "Walk-in customer"},
                           "creating the walk-in customer")
            with self._lock:
                self._default_customer = guid
            return guid

    def _ensure_discount_product(self) -> str:
        with self._ensure_lock:
            with self._lock:
                if self._discount_product:
                    return self._discount_product
            guid = self._existing("Products", "productCode", "ProductCode", DISCOUNT_CODE)
            if guid is None:
                guid = self.det_id("product", DISCOUNT_CODE)
                self._post(f"/Products/{guid}", {"Guid": guid, "ProductCode": DISCOUNT_CODE,
                                                 "ProductDescription": "Discount", "NeverDiminishing": True},
                           "creating the discount product")
            with self._lock:
                self._discount_product = guid
            return guid

    def sales_order_body(self, o: Outgoing) -> dict[str, Any]:
        """The order for one POS sale: list prices, line discounts as rates, exact totals.

        Each line carries the list price and the POS's line discount as its ``DiscountRate``
        (a fraction, notes §4.6), so that revenue per product is what the product sold for;
        ``LineTotal`` = quantity × price × (1 − rate), to the cent. A sale-level discount and
        the POS's own rounding beyond a cent a line go to one line of the discount product
        (notes §8: "a special discount product ... used for sale-level discount lines"), as
        Unleashed's own integration does. The order's Total is the sale's total to the cent;
        SubTotal = Σ LineTotal and TaxTotal = Σ LineTax exactly, as Unleashed checks.
        """
        sale = o.entity
        assert isinstance(sale, Sale)
        lines: list[dict[str, Any]] = []
        exact: list[Decimal] = []  # each line's unrounded total, to place rounding cents well
        for number, line in enumerate(sale.lines, start=1):
            code = self.tax_code(line.tax_rate, line.tax_id)
            price, rate = line_price(line.unit_price, line.unit_discount)
            value = line.quantity * price * (1 - rate)
            total = cents(value)
            exact.append(value)
            lines.append({"LineNumber": number, "Product": {"Guid": line.product_id},
                          "OrderQuantity": line.quantity, "UnitPrice": price, "DiscountRate": rate,
                          "LineTotal": total, "LineTax": cents(total * line.tax_rate), "LineTaxCode": code,
                          "TaxRate": line.tax_rate})
        target_sub = cents(sale.subtotal)
        target_tax = cents(sale.subtotal + sale.tax_total) - target_sub
        sub_gap = target_sub - sum((ln["LineTotal"] for ln in lines), Decimal(0))
        tax_gap = target_tax - sum((ln["LineTax"] for ln in lines), Decimal(0))
        rounding_only = abs(sub_gap) <= ROUNDING_PER_LINE * len(lines)
        if lines and rounding_only:
            _spread_rounding(lines, exact, sub_gap)
            if tax_gap:
                max(lines, key=lambda ln: ln["LineTotal"])["LineTax"] += tax_gap
        elif sub_gap or tax_gap:
            code = lines[0]["LineTaxCode"] if lines else self.tax_code(Decimal(0), None)
            lines.append({"LineNumber": len(lines) + 1, "Product": {"Guid": self._ensure_discount_product()},
                          "OrderQuantity": 1, "UnitPrice": sub_gap, "DiscountRate": 0, "LineTotal": sub_gap,
                          "LineTax": tax_gap, "LineTaxCode": code, "Comments": "Discount"})
        sub = sum((ln["LineTotal"] for ln in lines), Decimal(0))
        tax_total = sum((ln["LineTax"] for ln in lines), Decimal(0))
        customer = ({"Guid": sale.customer_id} if sale.customer_id else {"Guid": self._ensure_default_customer()})
        first_code = next((ln["LineTaxCode"] for ln in lines if ln.get("LineTaxCode")), None)
        body: dict[str, Any] = {
            "Guid": o.target_id, "OrderStatus": "Parked",
            "OrderDate": sale.sale_date.strftime("%Y-%m-%dT%H:%M:%S"),
            "RequiredDate": sale.sale_date.strftime("%Y-%m-%dT%H:%M:%S"),
            "Customer": customer, "Warehouse": {"Guid": sale.location_id},
            "CustomerRef": sale.number, "Comments": f"{(o.source_system or 'POS').title()} sale {sale.number}",
            "SourceId": f"{o.source_system or 'pos'}:{o.source_id}",
            "SubTotal": sub, "TaxTotal": tax_total, "Total": sub + tax_total,
            "SalesOrderLines": lines, "ExchangeRate": 1,
        }
        if first_code:
            body["Tax"] = {"TaxCode": first_code}
        group = self.context.settings.get("sales_group")
        if group:
            body["SalesOrderGroup"] = group
        return body

    def _push_sale(self, o: Outgoing) -> PushResult:
        if o.exists:
            # Bound already: the order exists. A sale is imported once; a later change of the
            # POS sale (a note, a payment) does not re-create or rewrite the order.
            return PushResult(o.source_id, "unchanged", target_id=o.target_id)
        body = self.sales_order_body(o)
        sale = o.entity
        assert isinstance(sale, Sale)
        needs = self._stock_needs(body)
        if self._known_stock.short(sale.location_id, needs):
            # Known short (the stock we read or took in, less what orders took since): create it
            # Parked and complete it, two calls, instead of a Completed create that Unleashed
            # would refuse. Completing still completes it if stock arrived meanwhile.
            return self._create_parked(o, body, needs, refused=None)
        # A POS sale is a finished sale: create it Completed, one call (notes §4.6: "create as
        # Parked (or Completed for POS sales)"). Parked-then-Complete cost two calls per sale.
        try:
            response = self._post(f"/SalesOrders/{o.target_id}", {**body, "OrderStatus": "Completed"},
                                  "creating a sales order")
        except RemoteError as exc:
            if exc.status != 400:
                raise
            return self._create_parked(o, body, needs, refused=exc)
        order = response.json() if response.content else {}
        if order.get("OrderStatus", "Completed") == "Completed":
            self._known_stock.take(sale.location_id, needs)
            return PushResult(o.source_id, "created", target_id=o.target_id)
        # The Guid was taken by an earlier attempt that left the order Parked: complete it.
        return self._complete_order(o, order, needs, fresh=False)

    def _create_parked(self, o: Outgoing, body: dict[str, Any], needs: list[tuple[str, Decimal]],
                       refused: RemoteError | None) -> PushResult:
        """Create the order Parked, then complete it (which parks it with the stock allocated
        when stock is short, notes §8); never make a second order. ``refused``: why a Completed
        create was refused (stock short, the order invalid, or a POST whose answer was lost was
        retried and the Guid is taken: notes §4.6 [?], a second POST may answer 400)."""
        try:
            response = self._post(f"/SalesOrders/{o.target_id}", body, "creating a sales order")
            order = response.json() if response.content else {}
            fresh = response.status_code == 201
        except RemoteError as exc:
            if exc.status != 400:
                raise
            order = self._existing_order(o.target_id)
            if order is None:
                raise (refused or exc) from None  # invalid either way: the first reason is the one to fix
            fresh = False
        if order.get("OrderStatus") == "Completed":
            return PushResult(o.source_id, "created", target_id=o.target_id)
        return self._complete_order(o, order, needs, fresh=fresh)

    def _complete_order(self, o: Outgoing, order: dict[str, Any], needs: list[tuple[str, Decimal]],
                        *, fresh: bool) -> PushResult:
        """``fresh``: we created the order Parked just now, so a refused Complete cannot be a
        retried one whose first answer was lost: it is short of stock, no need to look."""
        sale = o.entity
        assert isinstance(sale, Sale)
        try:
            self._request("POST", f"/SalesOrders/{o.target_id}/Complete", what="completing a sales order")
        except RemoteError as exc:
            if exc.status != 400:
                raise
            now = {} if fresh else (self._existing_order(o.target_id) or {})
            if now.get("OrderStatus") == "Completed":  # a retried Complete whose first answer was lost
                return PushResult(o.source_id, "created", target_id=o.target_id)
            # Notes §8: when stock is short the order stays Parked with the stock allocated.
            self._known_stock.take(sale.location_id, needs)
            self._known_stock.ran_short(sale.location_id, [product for product, _ in needs])
            number = order.get("OrderNumber") or now.get("OrderNumber") or o.target_id
            return PushResult(o.source_id, "created", target_id=o.target_id,
                              note=f"order {number} is parked: not enough stock to complete it "
                                   f"({_reason(exc)}); stock is allocated, complete it in Unleashed "
                                   "once stock arrives")
        self._known_stock.take(sale.location_id, needs)
        return PushResult(o.source_id, "created", target_id=o.target_id)

    def _stock_needs(self, body: dict[str, Any]) -> list[tuple[str, Decimal]]:
        """Quantities of stocked products an order takes (not the discount or non-stock ones)."""
        needs: dict[str, Decimal] = {}
        with self._lock:
            skip = self._never_diminishing | ({self._discount_product} if self._discount_product else set())
        for line in body["SalesOrderLines"]:
            guid = line["Product"]["Guid"]
            if guid not in skip:
                needs[guid] = needs.get(guid, Decimal(0)) + Decimal(str(line["OrderQuantity"]))
        return list(needs.items())

    def _existing_order(self, guid: str) -> dict[str, Any] | None:
        try:
            found = self._get(f"/SalesOrders/{guid}")
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise
        return found if isinstance(found, dict) and found.get("Guid") else None


#: Places of a line's DiscountRate: a rate rounded here moves a line of 10,000.00 by under a cent.
RATE_PLACES = Decimal("0.00000001")


def line_price(unit_price: Decimal, unit_discount: Decimal) -> tuple[Decimal, Decimal]:
    """(UnitPrice, DiscountRate) of a POS line: the list price and the discount as a fraction.

    A discount Unleashed cannot express as a rate between 0 and 1 (a price raised above the list
    price, a line given away at a list price of zero) goes on the line as the price charged.
    """
    if not unit_discount:
        return unit_price, Decimal(0)
    if unit_price > 0 and 0 < unit_discount <= unit_price:
        return unit_price, (unit_discount / unit_price).quantize(RATE_PLACES)
    return unit_price - unit_discount, Decimal(0)


def percent(rate: Decimal) -> str:
    """A rate as the retailer writes it: 0.15 → ``15%``."""
    return f"{format((rate * 100).normalize(), 'f')}%"


def tax_map_lookup(mapping: dict[str, str], rate: Decimal, pos_tax_id: str | None) -> str | None:
    """``tax_map`` by POS tax id, by percentage (``"15%"``) or by fraction (``"0.15"``)."""
    wanted = {pos_tax_id or "", percent(rate), format(rate.normalize(), "f")}
    for key, code in mapping.items():
        text = key.strip()
        if text in wanted:
            return str(code)
        try:
            if text.endswith("%") and Decimal(text[:-1]) / 100 == rate:
                return str(code)
            if not text.endswith("%") and Decimal(text) == rate:
                return str(code)
        except ArithmeticError:
            continue
    return None


def _spread_rounding(lines: list[dict[str, Any]], exact: list[Decimal], gap: Decimal) -> None:
    """Move the POS's rounding (a few cents) onto the lines whose own rounding went the other way,
    one cent each, so every LineTotal stays within a cent of quantity × price."""
    step = CENT if gap > 0 else -CENT
    residue = [(exact[i] - lines[i]["LineTotal"], i) for i in range(len(lines))]
    order = sorted(residue, reverse=gap > 0)
    for _, i in order:
        if not gap:
            return
        lines[i]["LineTotal"] += step
        gap -= step
    if gap:
        lines[-1]["LineTotal"] += gap


def _last_page(body: dict[str, Any], page: int) -> bool:
    """Is ``page`` of an Unleashed list the last? (``Pagination.NumberOfPages``, notes §2)"""
    paging = body.get("Pagination") or {}
    return int(paging.get("PageNumber") or page) >= int(paging.get("NumberOfPages") or 1)


def _holds(current: dict[str, Any], body: dict[str, Any]) -> bool:
    """Does the record Unleashed returned already carry every value of ``body``?"""
    for key, value in body.items():
        have = current.get(key)
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            if have is None or convert.dec(have) != convert.dec(value):
                return False
        elif key == "Notes":
            if convert.text(have) != convert.text(value):
                return False
        elif have != value:
            return False
    return True


def _same_code(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a != b and "".join(a.split()) == "".join(b.split())


def _validation_detail(response: httpx.Response) -> str:
    """A 400 body in a sentence: ``Description`` then each item's message (the body is opaque per
    notes §5; the emulator's ``{"Description", "Items": [{"Field", "Message"}]}`` reads well)."""
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


def _reason(exc: RemoteError) -> str:
    return exc.message.split("HTTP 400: ", 1)[-1].rstrip(")")


def _rejection(exc: RemoteError, o: Outgoing, connection: str, source: str = "the point of sale") -> RecordRejected:
    """``source``: the name of the system the record came from, where the user corrects it."""
    detail = _reason(exc)
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


def _stored(read: Any, response: httpx.Response) -> Any:
    """The record as Unleashed saved it (the POST answers with it), read the way ``fetch`` reads
    it, so the flow in the other direction recognises it as our own write; ``None`` if absent."""
    try:
        data = response.json()
    except ValueError:
        return None
    return read(data) if isinstance(data, dict) and data.get("Guid") else None
