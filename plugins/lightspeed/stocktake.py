"""Setting many stock levels with inventory counts (STOCKTAKE consignments).

https://x-series-api.lightspeedhq.com/docs/inventory_creating_inventory_counts: Lightspeed's own
way of correcting many levels is an inventory count: create it filtered to the products being set
(never unfiltered: completing an unfiltered count resets every product not counted to 0),
``POST /consignments/{id}/bulk`` at most 500 counts a call
(https://x-series-api.lightspeedhq.com/reference/createorupdateconsignmentproducts), wait for
``STOCKTAKE_IN_PROGRESS_PROCESSED``, then ``PUT`` status ``STOCKTAKE_COMPLETE``.

The counts of one push (one per outlet) run side by side, step by step: every count is opened and
filled before the first is waited for, so Lightspeed processes them together, and one look at the
sales serves all of them.

A till sale while a count is open: the count is absolute, so a unit sold after we read the level
but before completion would be put back. The ``version`` (the store-wide version cursor) of the
first count opened marks when the levels were last read; before completing we read the sales after
it (usually one short page, one look for every count) and take the units each product sold at the count's outlet (negative for
returns) off its count with one more bulk call (counts accumulate), then look again after the
newest sale seen, until no new sale shows up. What remains is the window of the completing call.

Idempotency: a count is named after the connection and outlet (``count_name``); before opening
the first, any open count of ours (left by a crash) is cancelled, so it can never be completed
later, and a count that fails midway is cancelled on the way out. Completing twice (a crash after
completion, before the runner's commit) sets the same absolute levels again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tillbridge import Outgoing, RemoteError, StockLevel, TransientError

if TYPE_CHECKING:
    from .connector import LightspeedConnector

log = logging.getLogger("tillbridge.lightspeed")

#: https://x-series-api.lightspeedhq.com/reference/createorupdateconsignmentproducts: ≤ 500 a call.
COUNT_BULK_LIMIT = 500
COUNT_FINISHED = {"STOCKTAKE_COMPLETE", "CLOSED", "CANCELLED"}
NO_RETRY = {"tillbridge_retry": False}


def count_name(connection: str, outlet_id: str) -> str:
    return f"tillbridge stock {connection} {outlet_id}"


@dataclass
class _Count:
    outlet_id: str
    levels: list[Outgoing]
    counts: dict[str, Decimal]
    consignment: dict[str, Any] = field(default_factory=dict)
    opened_version: int = 0
    #: when its last counts were sent (``time.monotonic()``): processing starts from there
    filled_at: float = 0.0
    done: bool = False


def _refused(exc: RemoteError) -> bool:
    """A definite refusal of this count (a product gone meanwhile...): cancel it, PUT instead."""
    return exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 429)


class InventoryCounts:
    """One push's inventory counts, through ``connector``'s own requests (auth, pacing, errors)."""

    def __init__(self, connector: LightspeedConnector, checked: set[str]) -> None:
        self.conn = connector
        #: outlets whose stale counts were looked for already (once per connector instance).
        self.checked = checked

    def set_levels(self, by_outlet: dict[str, list[Outgoing]]) -> set[str]:
        """Set each outlet's levels with one count; the source ids set (an outlet whose count
        Lightspeed refused is left out: the caller writes its levels per product)."""
        counts = [_Count(o, levels, {_level(lv).product_id: Decimal(str(_level(lv).available))
                                     for lv in levels}) for o, levels in by_outlet.items()]
        for c in counts:
            assert all(isinstance(lv.entity, StockLevel) for lv in c.levels)
        self._cancel_stale({c.outlet_id for c in counts} - self.checked)
        live: list[_Count] = []
        try:
            for c in counts:
                if self._open(c):
                    live.append(c)
            live = [c for c in live if self._step(c, lambda c=c: self._fill(c, c.counts))]
            live = [c for c in live if self._step(c, lambda c=c: self._wait(c))]
            self._take_off_sales(live)
            live = [c for c in live if self._step(c, lambda c=c: self._complete(c))]
        finally:
            for c in counts:
                if c.consignment and not c.done:
                    self._cancel(c)
        return {lv.source_id for c in live for lv in c.levels}

    # --- steps ----------------------------------------------------------------------------------
    def _step(self, c: _Count, action: Any) -> bool:
        try:
            action()
            return True
        except RemoteError as exc:
            if _refused(exc):
                log.info("Lightspeed refused the inventory count of outlet %s (%s); its levels go one "
                         "product at a time", c.outlet_id, exc)
                return False
            raise

    def _open(self, c: _Count) -> bool:
        body = {"data": {"name": count_name(self.conn.context.connection, c.outlet_id), "outlet_id": c.outlet_id,
                         "type": "STOCKTAKE", "status": "STOCKTAKE_IN_PROGRESS",
                         "filters": [{"type": "product", "value": pid} for pid in c.counts]}}
        try:
            c.consignment = self.conn.request("POST", "/api/2.0/consignments", json=body,
                                               what="opening an inventory count", extensions=NO_RETRY).json()["data"]
        except RemoteError as exc:
            if exc.status in (400, 404, 422):
                return False
            raise
        c.opened_version = int(c.consignment.get("version") or 0)
        return True

    def _bulk(self, consignment: dict[str, Any], counts: dict[str, Decimal]) -> None:
        items = [{"product_id": pid, "received": str(qty)} for pid, qty in counts.items()]
        for start in range(0, len(items), COUNT_BULK_LIMIT):
            self.conn.request("POST", f"/api/2.0/consignments/{consignment['id']}/bulk",
                               json=items[start:start + COUNT_BULK_LIMIT], what="counting stock", extensions=NO_RETRY)

    def _fill(self, c: _Count, counts: dict[str, Decimal]) -> None:
        self._bulk(c.consignment, counts)
        c.filled_at = time.monotonic()

    def _wait(self, c: _Count) -> None:
        """Until Lightspeed has processed the count's items (each look is a call: look rarely)."""
        settings = self.conn.context.settings
        deadline = time.monotonic() + float(settings.get("stock_count_timeout", 600))
        time.sleep(max(0.0, c.filled_at + 0.25 - time.monotonic()))  # processing takes a moment
        delay = 0.5
        consignment = self.conn._get(f"/api/2.0/consignments/{c.consignment['id']}")["data"]
        while consignment.get("status") != "STOCKTAKE_IN_PROGRESS_PROCESSED":
            if time.monotonic() > deadline:
                raise TransientError("Lightspeed is still processing the inventory count")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
            consignment = self.conn._get(f"/api/2.0/consignments/{c.consignment['id']}")["data"]
        c.consignment = consignment

    def _take_off_sales(self, live: list[_Count]) -> None:
        if not live:
            return
        seen = min(c.opened_version for c in live)
        by_outlet = {c.outlet_id: c for c in live}
        while True:
            sold, seen = self._sold_since(seen, by_outlet)
            if not sold:
                return
            for outlet_id, qty in sold.items():
                c = by_outlet[outlet_id]
                if self._step(c, lambda c=c, qty=qty: self._fill(c, {p: -q for p, q in qty.items()})):
                    self._step(c, lambda c=c: self._wait(c))

    def _sold_since(self, after: int, by_outlet: dict[str, _Count]) -> tuple[dict[str, dict[str, Decimal]], int]:
        """Units sold of the counted products at each counted outlet after version ``after``."""
        sold: dict[str, dict[str, Decimal]] = {}
        newest = after
        while True:
            page = self.conn._get("/api/2.0/sales", after=newest, page_size=self.conn.max_sales_page_size)
            rows = page.get("data") or []
            if not rows:
                break
            for sale in rows:
                c = by_outlet.get(sale.get("outlet_id"))
                if c is None:
                    continue
                for line in sale.get("line_items") or []:
                    if line.get("product_id") in c.counts:
                        mine = sold.setdefault(c.outlet_id, {})
                        mine[line["product_id"]] = mine.get(line["product_id"], Decimal(0)) \
                            + Decimal(str(line.get("quantity") or 0))
            newest = max(newest, int((page.get("version") or {}).get("max") or newest))
        return {o: {p: q for p, q in qty.items() if q} for o, qty in sold.items() if any(qty.values())}, newest

    def _complete(self, c: _Count) -> None:
        c.consignment = self._set_status(c.consignment, "STOCKTAKE_COMPLETE")
        c.done = True

    def _cancel(self, c: _Count) -> None:
        try:
            self._set_status(c.consignment, "CANCELLED")
        except Exception as exc:  # noqa: BLE001 - the stale-count check of the next run cancels it
            log.warning("could not cancel the unfinished inventory count %s (%s); the next stock export "
                        "cancels it before counting", c.consignment.get("name") or c.consignment.get("id"), exc)

    def _cancel_stale(self, outlets: set[str]) -> None:
        """Cancel open counts of ours at ``outlets`` (left by a crash): one look for all outlets."""
        if not outlets:
            return
        names = {count_name(self.conn.context.connection, o): o for o in outlets}
        for c in self.conn._get("/api/2.0/consignments", type="STOCKTAKE").get("data") or []:
            if names.get(c.get("name")) == c.get("outlet_id") and c.get("type") == "STOCKTAKE" \
                    and c.get("status") not in COUNT_FINISHED:
                self._set_status(c, "CANCELLED")
        self.checked.update(outlets)

    def _set_status(self, c: dict[str, Any], status: str) -> dict[str, Any]:
        body = {"data": {"name": c["name"], "outlet_id": c["outlet_id"], "type": "STOCKTAKE", "status": status}}
        data = self.conn.request("PUT", f"/api/2.0/consignments/{c['id']}", json=body,
                                  what="changing an inventory count").json().get("data")
        return data if isinstance(data, dict) else {**c, "status": status}


def _level(o: Outgoing) -> StockLevel:
    assert isinstance(o.entity, StockLevel)  # the stock flow writes stock levels only
    return o.entity
