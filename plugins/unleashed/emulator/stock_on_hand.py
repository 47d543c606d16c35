"""``/StockOnHand`` rows: product totals, or per warehouse when a warehouse is named.

https://apidocs.unleashedsoftware.com/StockOnHand:
- without a warehouse filter each row is a product total across warehouses; its ``Guid`` equals
  ``ProductGuid`` and ``WarehouseId``/``WarehouseCode``/``Warehouse`` are empty (null here);
- with ``warehouseCode``/``warehouseName`` (or ``/{productGuid}/AllWarehouses``) rows are per
  warehouse;
- products never moved are not returned;
- ``isAssembled=true`` adds to AvailableQty what auto-assembly could build.

With ``isAssembled=true`` an auto-assembled product is listed even if it never moved itself, as
long as something could be built, and its row counts as modified when any stock in its bill
changed, because that is when its available quantity changes [I].
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Sequence

from .errors import UnleashedError, not_found
from .lookups import find_by_code
from .query import Lazy, Query, in_guid_list, modified_since
from .state import ZERO, Record, StockLevel, UnleashedState, row_guid
from .stock import Pool, buildable


def _warehouse_filter(state: UnleashedState, q: Query) -> list[Record] | None:
    code, name = q.get("warehouseCode"), q.get("warehouseName")
    if code is None and name is None:
        return None
    warehouse = find_by_code(state.warehouses, "WarehouseCode", code) if code else find_by_code(state.warehouses, "WarehouseName", name or "")
    if warehouse is None:
        # An unknown warehouse is refused rather than silently giving an empty list [I].
        raise UnleashedError(400, f"Warehouse '{code or name}' does not exist.", field="warehouseCode" if code else "warehouseName")
    return [warehouse]


def _bill_products(state: UnleashedState, product_guid: str, depth: int = 0) -> set[str]:
    bom = state.bom_for(product_guid, auto_assemble_only=True)
    if bom is None or depth > 16:
        return set()
    found: set[str] = set()
    for line in bom["BillOfMaterialsLines"]:
        found.add(line["Product"]["Guid"])
        found |= _bill_products(state, line["Product"]["Guid"], depth + 1)
    return found


class _Row:
    """Accumulates one product's numbers over one or more warehouses."""

    def __init__(self) -> None:
        self.on_hand = ZERO
        self.allocated = ZERO
        self.buildable = ZERO
        self.modified: datetime | None = None
        self.last_sale: datetime | None = None
        self.moved = False

    def add_level(self, level: StockLevel | None) -> None:
        if level is None:
            return
        self.moved = True
        self.on_hand += level.on_hand
        self.allocated += level.allocated
        self.touch(level.last_modified)
        if level.last_sale and (self.last_sale is None or level.last_sale > self.last_sale):
            self.last_sale = level.last_sale

    def touch(self, moment: datetime | None) -> None:
        if moment and (self.modified is None or moment > self.modified):
            self.modified = moment


def _collect(state: UnleashedState, product: Record, warehouses: list[Record], assembled: bool) -> _Row:
    row = _Row()
    bill = _bill_products(state, product["Guid"]) if assembled else set()
    for warehouse in warehouses:
        row.add_level(state.level(product["Guid"], warehouse["Guid"]))
        if bill:
            row.buildable += buildable(state, product["Guid"], Pool(state, warehouse["Guid"]))
            for component in bill:
                level = state.level(component, warehouse["Guid"])
                row.touch(level.last_modified if level else None)
    return row


def _render(state: UnleashedState, product: Record, warehouse: Record | None, row: _Row) -> Record:
    avg = product.get("AverageLandPrice") or ZERO
    days = (state.now() - row.last_sale).days if row.last_sale else None
    return {
        # https://apidocs.unleashedsoftware.com/StockOnHand: a total row's Guid equals ProductGuid;
        # per-warehouse rows get their own.
        "Guid": product["Guid"] if warehouse is None else row_guid(product["Guid"], warehouse["Guid"]),
        "ProductGuid": product["Guid"],
        "ProductCode": product["ProductCode"],
        "ProductDescription": product["ProductDescription"],
        "ProductGroupName": (product.get("ProductGroup") or {}).get("GroupName"),
        "ProductSourceId": product.get("SourceId"),
        "QtyOnHand": row.on_hand,
        "AllocatedQty": row.allocated,
        "AvailableQty": row.on_hand - row.allocated + row.buildable,
        "OnPurchase": ZERO,
        "AvgCost": avg,
        "TotalCost": (row.on_hand * avg).quantize(Decimal("0.0001")),
        "DaysSinceLastSale": days,
        "Warehouse": warehouse["WarehouseName"] if warehouse else None,
        "WarehouseCode": warehouse["WarehouseCode"] if warehouse else None,
        "WarehouseId": warehouse["Guid"] if warehouse else None,
        "LastModifiedOn": row.modified,
    }


def _active_warehouses(state: UnleashedState) -> list[Record]:
    return sorted((w for w in state.warehouses.values() if not w["Obsolete"]), key=lambda w: w["WarehouseCode"])


#: Listings kept at once (one per warehouse being paged, and then some).
MAX_CACHED_LISTINGS = 64


def list_stock(state: UnleashedState, q: Query) -> Sequence[Record]:
    """``GET /StockOnHand`` (default order productCode)."""
    per_warehouse = _warehouse_filter(state, q)
    warehouses = per_warehouse or _active_warehouses(state)
    assembled = q.flag("isAssembled")
    since = q.date("modifiedSince")
    ids = q.csv("productId")
    by_modified = (q.get("orderBy") or "").lower() == "lastmodifiedon"
    warehouse = per_warehouse[0] if per_warehouse else None
    # A client pages through one listing request by request; while nothing it could show has
    # changed (same revision), every page shares the rows the first one collected and sorted,
    # instead of each page scanning every product again. Listings of several warehouses are
    # paged side by side (page n of each in turn), so each keeps its own entry.
    key = (state.revision, tuple(w["Guid"] for w in warehouses), assembled, since,
           tuple(ids) if ids is not None else None, by_modified)
    cached = state.stock_listings.get(key)
    if cached is None:
        cached = _stock_rows(state, warehouses, assembled, since, ids, by_modified)
        for old in [k for k in state.stock_listings if k[0] != state.revision]:
            del state.stock_listings[old]  # rows of older revisions are never asked for again
        while len(state.stock_listings) >= MAX_CACHED_LISTINGS:
            del state.stock_listings[next(iter(state.stock_listings))]
        state.stock_listings[key] = cached
    return Lazy(cached, lambda pr: _render(state, pr[0], warehouse, pr[1]))


def _stock_rows(state: UnleashedState, warehouses: list[Record], assembled: bool, since: datetime | None,
                ids: list[str] | None, by_modified: bool) -> list[tuple[Record, _Row]]:
    rows: list[tuple[Record, _Row]] = []
    for product in state.products.values():
        if not in_guid_list(product["Guid"], ids):
            continue
        row = _collect(state, product, warehouses, assembled)
        if not row.moved and row.buildable <= 0:
            continue  # https://apidocs.unleashedsoftware.com/StockOnHand: products never moved are not returned
        if not modified_since(row.modified, since):
            continue
        rows.append((product, row))
    # The keys are the rendered rows' LastModifiedOn and ProductCode.
    if by_modified:
        rows.sort(key=lambda pr: (pr[1].modified, pr[0]["ProductCode"].upper()))
    else:
        rows.sort(key=lambda pr: pr[0]["ProductCode"].upper())
    return rows


def _product(state: UnleashedState, product_guid: str) -> Record:
    product = state.products.get(product_guid.lower())
    if product is None:
        raise not_found("Product", product_guid)
    return product


def single_stock(state: UnleashedState, product_guid: str, q: Query) -> Record:
    """``GET /StockOnHand/{productGuid}``: the product's total (a zero row if never moved) [I]."""
    product = _product(state, product_guid)
    per_warehouse = _warehouse_filter(state, q)
    row = _collect(state, product, per_warehouse or _active_warehouses(state), q.flag("isAssembled"))
    return _render(state, product, per_warehouse[0] if per_warehouse else None, row)


def stock_all_warehouses(state: UnleashedState, product_guid: str, q: Query) -> list[Record]:
    """``GET /StockOnHand/{productGuid}/AllWarehouses``: one row per active warehouse [I]."""
    product = _product(state, product_guid)
    assembled = q.flag("isAssembled")
    return [_render(state, product, w, _collect(state, product, [w], assembled)) for w in _active_warehouses(state)]


def stock_numbers(state: UnleashedState, product_guid: str, warehouse_guid: str, *, assembled: bool = False) -> dict[str, Any]:
    level = state.level(product_guid, warehouse_guid)
    on_hand = level.on_hand if level else ZERO
    allocated = level.allocated if level else ZERO
    extra = Decimal(buildable(state, product_guid, Pool(state, warehouse_guid))) if assembled else ZERO
    return {"QtyOnHand": on_hand, "AllocatedQty": allocated, "AvailableQty": on_hand - allocated + extra}
