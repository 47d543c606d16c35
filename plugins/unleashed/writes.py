"""Unleashed writes of products, customers and opening stock (mixed into the connector).

Products and customers are ``POST /Products/{Guid}`` and ``/Customers/{Guid}`` (create or
update, https://apidocs.unleashedsoftware.com/Products); opening stock is one completed stock adjustment
per product and warehouse (https://apidocs.unleashedsoftware.com/StockAdjustments).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
import threading
from typing import TYPE_CHECKING, Any, Sequence

import httpx

from tillbridge import Customer, Outgoing, Product, PushResult, RemoteError, StockLevel

from . import convert
from .stock_knowledge import StockKnowledge
from .wire import cents, money

#: ``AdjustmentReason`` of the opening stock (20 characters at most,
#: https://apidocs.unleashedsoftware.com/StockAdjustments).
OPENING_REASON = "Opening stock"


class RecordWrites:
    """Products, customers, opening stock: the per-record writes of :class:`UnleashedConnector`."""

    if TYPE_CHECKING:  # provided by the connector this is mixed into
        _never_diminishing: set[str]
        _created_products: set[str]
        _known_stock: StockKnowledge
        _pushing: threading.local

        def request(self, method: str, path: str, *, what: str = "", json: Any = None,
                    **kwargs: Any) -> httpx.Response: ...
        def _get(self, path: str, **params: Any) -> Any: ...
        def det_id(self, kind: str, key: str) -> str: ...
        def warehouses(self) -> dict[str, dict[str, Any]]: ...
        def stock_for(self, warehouse_guid: str, product_guids: Sequence[str]) -> list[dict[str, Any]]: ...

    def _post(self, path: str, body: dict[str, Any], what: str) -> httpx.Response:
        return self.request("POST", path, json=body, what=what)
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
                # A code exported to Lightspeed comes back without its spaces: the records are
                # bound by id, so keep Unleashed's spelling rather than rename it. Source:
                # https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction
                body["ProductCode"] = current["ProductCode"]
            if o.update_fields is not None:
                # Unleashed wants whole objects on update
                # (https://apidocs.unleashedsoftware.com/Products): keep what it holds for
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
        when: the other system is master of some fields (Unleashed wants whole objects,
        https://apidocs.unleashedsoftware.com/: keep its values of those); the record is re-sent though
        unchanged (it may have been
        edited by hand: write only what differs); or the code came back from Lightspeed without
        its spaces
        (https://intercom.help/unleashed-support/en/articles/11582276-lightspeed-retail-integration-introduction: keep
        Unleashed's spelling, and do not write what Unleashed already
        holds, which would bump LastModifiedOn and send the product round again).
        """
        if not o.exists:
            return False
        spaced = o.target_key is not None and _same_code(o.target_key, o.entity.key)
        return o.update_fields is not None or o.resend or spaced

    # --- opening stock ----------------------------------------------------------------------------
    def _push_opening_stock(self, o: Outgoing) -> PushResult:
        """The POS's stock on hand of one product in one warehouse, once, with its value.

        One completed stock adjustment (https://apidocs.unleashedsoftware.com/StockAdjustments:
        ``POST /StockAdjustments/{Guid}``; lines
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
        # Lines set the new quantity and value (https://apidocs.unleashedsoftware.com/StockAdjustments): what
        # the warehouse holds already (stock received in Unleashed since the product was created) plus the POS's.
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
        # Code filters are prefix matches (https://apidocs.unleashedsoftware.com/Products): check equality ourselves.
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


def _stored(read: Any, response: httpx.Response) -> Any:
    """The record as Unleashed saved it (the POST answers with it), read the way ``fetch`` reads
    it, so the flow in the other direction recognises it as our own write; ``None`` if absent."""
    try:
        data = response.json()
    except ValueError:
        return None
    return read(data) if isinstance(data, dict) and data.get("Guid") else None
