"""Preparing the opening stock: the POS's stock on hand taken into inventory once per product.

Unleashed's own POS integration takes stock on hand from the POS once, at the initial product
import, with its value so that the average landed cost is right
(https://support.unleashedsoftware.com/hc/en-us/articles/4402425853977). Here each POS level
(product, outlet) of a product already imported, at an outlet mapped to a warehouse, becomes
one opening-stock record for the inventory connector to write (Unleashed: a stock adjustment
with a Guid derived from the product and warehouse, so a second attempt cannot count twice).

The quantity is what the POS holds *plus* what closed POS sales not yet imported took: those
sales will still reach the inventory system and take their stock there, so both systems end
equal. Once written (or found to hold nothing), a level is bound and never sent again, however
the POS count moves afterwards: after go-live, stock is counted in the inventory system.

Only products imported from the POS by the products flow qualify, and on a connection that was
already importing sales when the opening stock first ran (an upgrade, or the setting switched on
later) only products imported after that: their stock is counted in the inventory system already.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Sequence

from sqlmodel import col, select

from .entities import Entity, StockLevel
from .storage.models import Binding

if TYPE_CHECKING:
    from .flows import Flow, PrepareContext

#: Compared instead of each level's own fingerprint: a level taken in once is never sent again.
TAKEN = "opening-stock"
#: Pages of not-yet-imported POS sales looked at (from the start when the sales flow never ran).
PEEK_PAGES = 50
#: Where the first product binding that qualifies is remembered (a cursor row of its own).
FROM_BINDING = "opening_stock.from_binding"


def prepare_opening_stock(ctx: PrepareContext, records: Sequence[Entity]) -> list[StockLevel]:
    """A page of the POS's levels → opening-stock records (the opening_stock flow's ``prepare``)."""
    rt, flow, source = ctx.runtime, ctx.flow, ctx.source
    levels = [r for r in records if isinstance(r, StockLevel)]
    if not levels:
        return []
    target_system = rt.system_of(flow.target_role) or ""
    warehouses = {oid: ctx.plugins.map_location(rt.name, oid, source.system, target_system)
                  for oid in {lvl.location_id for lvl in levels}}
    keys = [f"{lvl.product_id}@{lvl.location_id}" for lvl in levels]
    first = _first_qualifying_binding(ctx, flow, source.system, target_system)
    with ctx.store.session() as s:
        imported = ctx.store.bindings(s, rt.id, "product", source.system, target_system,
                                         sorted({lvl.product_id for lvl in levels}))
        products = {pid: b.target_id for pid, b in imported.items() if (b.id or 0) >= first}
        taken = ctx.store.bindings(s, rt.id, flow.entity_type, source.system, target_system, keys)
    pending = _pending(ctx, flow.source_role) if any(key not in taken for key in keys) else {}
    seen: tuple[set[str], set[str]] = ctx.state.setdefault("opening_stock", (set(), set()))
    out: list[StockLevel] = []
    for lvl, key in zip(levels, keys):
        warehouse, product = warehouses.get(lvl.location_id), products.get(lvl.product_id)
        if warehouse is None or product is None:
            # An unmapped outlet, or a product not imported (yet): importing it restarts this flow.
            continue
        quantity = lvl.on_hand + pending.get((lvl.product_id, lvl.location_id), Decimal(0))
        out.append(lvl.model_copy(update={"id": key, "on_hand": quantity, "available": quantity}))
        ctx.fingerprints[key] = TAKEN
        if key not in taken and quantity > 0:
            seen[0].add(lvl.product_id)
            seen[1].add(warehouse)
    if seen[0]:
        ctx.summary = f"opening stock: {len(seen[0])} products, {len(seen[1])} warehouses"
    return out


def awaiting_opening_stock(ctx: PrepareContext, pos: str, inventory: str,
                           levels: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of these (POS product, POS outlet) levels, those whose opening stock is still to be taken.

    The stock export must not set them on the POS yet: it would overwrite the POS's count with
    the inventory's (nothing, before the opening stock arrives), and the opening stock would then
    take that in instead of what the shelves hold. Only products the products flow imported from
    the POS, from the first one that qualifies on, wait; with ``import_opening_stock`` off none do.
    """
    rt = ctx.runtime
    if not rt.settings.get("import_opening_stock") or not levels:
        return set()
    known = ctx.store.cursor(rt.id, FROM_BINDING)
    first = int(known) if known is not None else 0
    with ctx.store.session() as s:
        imported = ctx.store.bindings(s, rt.id, "product", pos, inventory, sorted({p for p, _ in levels}))
        qualifying = {pid for pid, b in imported.items() if (b.id or 0) >= first}
        keys = [f"{p}@{o}" for p, o in levels if p in qualifying]
        taken = ctx.store.bindings(s, rt.id, "stock", pos, inventory, keys) if keys else {}
    return {(p, o) for p, o in levels if p in qualifying and f"{p}@{o}" not in taken}


def _first_qualifying_binding(ctx: PrepareContext, flow: Flow, pos: str, inventory: str) -> int:
    """Product bindings from this id on qualify: all on a new connection; on one that imported
    sales before the opening stock first ran, only those its last products run made and later
    ones (the products flow, the only one binding POS products to inventory ones, runs first)."""
    rt, store = ctx.runtime, ctx.store
    known = store.cursor(rt.id, FROM_BINDING)
    if known is not None:
        return int(known)
    sales_flow = next((f for f in ctx.app.flows().values()
                       if f.entity_type == "sale" and f.source_role == flow.source_role), None)
    products_flow = next((f for f in ctx.app.flows().values()
                          if f.entity_type == "product" and f.source_role == flow.source_role
                          and f.target_role == flow.target_role), None)
    with store.session() as s:
        first = 0
        if sales_flow is not None and store.cursor(rt.id, sales_flow.name) is not None:
            last_run = store.last_runs(rt.id).get(products_flow.name) if products_flow else None
            ids = list(s.exec(select(Binding.id).where(
                Binding.connection_id == rt.id, Binding.entity_type == "product",
                Binding.source_system == pos, Binding.target_system == inventory,
            ).order_by(col(Binding.id).desc()).limit(max(1, last_run.created if last_run else 0))))
            fresh = last_run.created if last_run else 0
            first = (min(i for i in ids if i is not None) if fresh and ids
                     else max((i or 0 for i in ids), default=0) + 1)
        store.set_cursor(s, rt.id, FROM_BINDING, str(first))
        s.commit()
    return first


def _pending(ctx: PrepareContext, pos_role: str) -> dict[tuple[str, str], Decimal]:
    """(POS product, POS outlet) → quantity of closed POS sales not imported yet.

    Looked at for each page, right after the page of levels was read: a sale rung between the
    two reads would be counted without being in the level read (stock counted twice), so the
    two reads are kept as close together as they can be.
    """
    from .stock import pending_pos_quantities

    return pending_pos_quantities(ctx, pos_role, from_start=True, pages=PEEK_PAGES)
