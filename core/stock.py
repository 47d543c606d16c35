"""Preparing a stock export: available quantities, mapped, minus what tills sold meanwhile.

Setting an absolute level on the POS races with till sales that the inventory system has not
imported yet: the inventory's "available" does not know about them, so pushing it would put the
sold stock back. So, per (POS product, POS outlet), we subtract what closed POS sales not yet in
the inventory system have taken: sales the sales flow holds (unmapped outlet, unknown product),
and sales closed after the sales flow's cursor (peeked, not consumed).

A level the inventory system does not report is 0: Unleashed lists no stock-on-hand row for a
product that never moved in a warehouse (apidocs.unleashedsoftware.com/StockOnHand: "products
with no transactions are not returned"). So a read from the start notes every level it gets, and
once it has ended the levels it never got are published as 0 (:func:`unreported_levels`), each
only once: like any level, a 0 already published is not sent again.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from decimal import Decimal
from typing import TYPE_CHECKING, Iterator, Sequence

from sqlmodel import or_, select

from .entities import Entity, Sale, StockLevel
from .flows import admit
from .opening_stock import awaiting_opening_stock
from .storage.models import Binding

if TYPE_CHECKING:
    from .flows import PrepareContext

PEEK_PAGES = 5
#: How long one look at the POS's pending sales serves the pages of a stock export.
PENDING_FRESH_SECONDS = 30.0
#: Levels per page of the zeros published after a read from the start (a product's outlets together).
UNREPORTED_PAGE = 1000
_SEEN = "stock_seen"


def prepare_stock(ctx: PrepareContext, records: Sequence[Entity]) -> list[StockLevel]:
    """A page of the inventory's levels → the levels to set on the POS (the stock flow's ``prepare``)."""
    rt, flow, source = ctx.runtime, ctx.flow, ctx.source
    levels = [r for r in records if isinstance(r, StockLevel)]
    if not levels:
        return []
    levels = ctx.plugins.compute_available(source, levels, bool(rt.settings.get("include_assembled")))
    if ctx.full_read:
        seen = _seen(ctx)
        for lvl in levels:
            seen.saw(lvl.product_id, lvl.location_id)
    target_system = rt.system_of(flow.target_role) or ""
    outlets = {
        wid: ctx.plugins.map_location(rt.name, wid, source.system, target_system)
        for wid in {lvl.location_id for lvl in levels}
    }
    with ctx.store.session() as s:
        pos_products = ctx.store.resolve_ids(
            s, rt.id, "product", source.system, target_system, sorted({lvl.product_id for lvl in levels}))
    taken = _pending_for_run(ctx, flow.target_role)
    waiting = awaiting_opening_stock(ctx, target_system, source.system, [
        (product, outlet) for lvl in levels
        if (outlet := outlets.get(lvl.location_id)) and (product := pos_products.get(lvl.product_id))])
    out: list[StockLevel] = []
    for lvl in levels:
        outlet, product = outlets.get(lvl.location_id), pos_products.get(lvl.product_id)
        if outlet is None or product is None:
            continue  # an unmapped warehouse or a product the POS does not sell: nothing to publish
        if (product, outlet) in waiting:
            continue  # the POS's count is still to be taken in as opening stock: leave it alone
        key = f"{lvl.product_id}@{lvl.location_id}"
        pending = taken.get((product, outlet), Decimal(0))
        out.append(lvl.model_copy(update={"available": lvl.available - pending, "id": key}))
        # "Only levels that changed": the inventory's own figure *and* what tills took that it
        # does not know yet. The published number alone is not enough: after a till sale it can
        # equal the last one published while the POS holds less; and the inventory figure alone
        # is not either: a receipt that cancels out an imported sale leaves it unchanged while
        # the POS, having counted the sale, is one short.
        ctx.fingerprints[key] = (
            f"{lvl.model_copy(update={'id': key}).fingerprint()[:40]}:{format(pending.normalize(), 'f')}")
    # A product's outlets side by side: the POS takes them in one request per product.
    out.sort(key=lambda lvl: (lvl.product_id, lvl.location_id))
    return out


def _pending_for_run(ctx: PrepareContext, pos_role: str) -> dict[tuple[str, str], Decimal]:
    """The till quantities not yet imported, peeked once per run and again when
    :data:`PENDING_FRESH_SECONDS` old: a long export (many pages) still catches a sale made
    during it, without a request to the POS for every page."""
    now = time.monotonic()
    peeked = ctx.state.get("pending_pos")
    if peeked is None or now - peeked[0] >= PENDING_FRESH_SECONDS:
        peeked = ctx.state["pending_pos"] = (now, pending_pos_quantities(ctx, pos_role))
    return peeked[1]


def pending_pos_quantities(ctx: PrepareContext, pos_role: str, *, from_start: bool = False,
                           pages: int = PEEK_PAGES) -> dict[tuple[str, str], Decimal]:
    """(POS product id, POS outlet id) → quantity sold at the POS that inventory does not know yet.

    :param from_start: when the sales flow never ran, look at the POS's sales from the start
        (they are all still to be imported) instead of counting none.
    :param pages: at most this many pages of sales are looked at.
    """
    rt, store = ctx.runtime, ctx.store
    taken = store.held_quantities(rt.id)
    sales_flow = next((f for f in ctx.app.flows().values()
                       if f.entity_type == "sale" and f.source_role == pos_role), None)
    if sales_flow is None:
        return taken
    cursor = store.cursor(rt.id, sales_flow.name)
    if cursor is None and not from_start:
        return taken  # the sales flow has not run yet: nothing to compare against
    pos = rt.connector(pos_role)
    inventory_system = rt.system_of(sales_flow.target_role) or ""
    for _ in range(pages):
        page = ctx.plugins.fetch_entities(pos, "sale", cursor, None)
        sales = [r for r in page.records if isinstance(r, Sale) and admit(r, sales_flow) is None]
        with store.session() as s:
            imported = store.bindings(s, rt.id, "sale", pos.system, inventory_system, [x.id for x in sales])
        for sale in sales:
            if sale.id in imported:
                continue
            for line in sale.lines:
                key = (line.product_id, sale.location_id)
                taken[key] = taken.get(key, Decimal(0)) + line.quantity
        cursor = page.cursor
        if not page.more:
            break
    return taken


class _Seen:
    """Which (product, warehouse) levels a read from the start has reported: a byte per bound
    product per mapped warehouse (100,000 products × 20 warehouses is 2 MB, not 2 million keys),
    the products as one list in id order (found by bisection: two dicts of 100,000 keys took
    another 10 MB). Their codes are not kept: the few products with a level never reported have
    theirs looked up when the zeros are published (100,000 codes are another 6 MB)."""

    def __init__(self, products: Sequence[str], warehouses: Sequence[str]) -> None:
        self.ids = sorted(products)  #: inventory product ids
        self.seen = {w: bytearray(len(self.ids)) for w in warehouses}

    def saw(self, product_id: str, warehouse: str) -> None:
        marks = self.seen.get(warehouse)
        if marks is None:
            return
        n = bisect_left(self.ids, product_id)
        if n < len(self.ids) and self.ids[n] == product_id:
            marks[n] = 1

    def unreported(self, page: int) -> Iterator[list[tuple[str, list[str]]]]:
        """The products with levels never reported and those levels' warehouses, in id order,
        about ``page`` levels at a time (a product's warehouses together)."""
        chunk: list[tuple[str, list[str]]] = []
        levels = 0
        for n, pid in enumerate(self.ids):
            missing = [warehouse for warehouse, marks in self.seen.items() if not marks[n]]
            if not missing:
                continue
            if levels >= page:
                yield chunk
                chunk, levels = [], 0
            chunk.append((pid, missing))
            levels += len(missing)
        if chunk:
            yield chunk


def _seen(ctx: PrepareContext) -> _Seen:
    seen = ctx.state.get(_SEEN)
    if seen is None:
        source = ctx.source
        target_system = ctx.runtime.system_of(ctx.flow.target_role) or ""
        warehouses = sorted(source.context.mapped_locations())
        seen = ctx.state[_SEEN] = _Seen(list(_bound_products(ctx, source.system, target_system)), warehouses)
    return seen


def _bound_products(ctx: PrepareContext, inventory: str, pos: str,
                    only: Sequence[str] | None = None) -> dict[str, str | None]:
    """Inventory products that have a POS twin (bound in either direction) → their code
    (``only``: of these products)."""
    out: dict[str, str | None] = {}
    with ctx.store.session() as s:
        query = select(Binding.source_system, Binding.source_id, Binding.target_id, Binding.source_key).where(
            Binding.connection_id == ctx.runtime.id, Binding.entity_type == "product",
            or_(Binding.source_system == inventory, Binding.source_system == pos),
            or_(Binding.target_system == inventory, Binding.target_system == pos),
            Binding.source_system != Binding.target_system)
        if only is not None:
            query = query.where(or_(Binding.source_id.in_(only), Binding.target_id.in_(only)))  # type: ignore[attr-defined]
        for system, source_id, target_id, key in s.exec(query):
            if system == inventory or system == pos:  # a binding of the two systems, either way
                out.setdefault(source_id if system == inventory else target_id, key)
    return out


def unreported_levels(ctx: PrepareContext) -> Iterator[list[Entity]]:
    """After a read from the start: the levels it never got, as 0, a page at a time."""
    if not ctx.full_read:
        return
    source, zero = ctx.source, Decimal(0)
    target_system = ctx.runtime.system_of(ctx.flow.target_role) or ""
    for chunk in _seen(ctx).unreported(UNREPORTED_PAGE):
        codes = _bound_products(ctx, source.system, target_system, only=[pid for pid, _ in chunk])
        yield [StockLevel(id=f"{pid}@{warehouse}", product_id=pid, location_id=warehouse,
                          on_hand=zero, allocated=zero, available=zero, product_code=codes.get(pid))
               for pid, warehouses in chunk for warehouse in warehouses]
