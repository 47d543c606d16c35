"""Stock adjustments: the way the emulator's stock is received, counted or written off.

https://apidocs.unleashedsoftware.com/StockAdjustments: ``POST /StockAdjustments/{Guid}`` creates; lines carry
``NewQuantity`` and ``NewActualValue``, read as the target *absolute* quantity and value in the
warehouse, not deltas [I]. A created adjustment is ``Completed`` (stock moves at once) unless the
body asks for ``Parked`` [I]. Average cost is kept per product across warehouses, as Unleashed's
average landed cost is [I].
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from .errors import UnleashedError
from .lookups import product_ref, resolve_product, resolve_warehouse, warehouse_ref
from .query import Query, modified_since, starts_with
from .state import ZERO, Record, UnleashedState
from .stock import set_on_hand
from .validation import Problems, check_guid_matches
from .wire import parse_body_date

STATUSES = ("Parked", "Completed")
_COST_PLACES = Decimal("0.0001")


def _total_on_hand(state: UnleashedState, product_guid: str) -> Decimal:
    # One look-up per warehouse, not a scan of every stock row of every product (stock rows only
    # exist for the company's warehouses).
    levels = (state.stock.get((product_guid, w)) for w in state.warehouses)
    return sum((max(lvl.on_hand, ZERO) for lvl in levels if lvl is not None), ZERO)


def _apply_line(state: UnleashedState, line: Record, warehouse_guid: str, reference: str, reason: str) -> None:
    product = state.products[line["Product"]["Guid"]]
    level = state.level(product["Guid"], warehouse_guid)
    old_qty = max(level.on_hand, ZERO) if level else ZERO
    avg = product.get("AverageLandPrice") or ZERO
    total_before = _total_on_hand(state, product["Guid"])
    new_qty: Decimal = line["NewQuantity"]
    if line["NewActualValue"] is not None:
        value_change = line["NewActualValue"] - old_qty * avg
    elif new_qty > old_qty:
        unit_cost = product.get("LastCost") or product.get("DefaultPurchasePrice") or avg
        value_change = (new_qty - old_qty) * unit_cost
    else:
        value_change = (new_qty - old_qty) * avg
    set_on_hand(state, product["Guid"], warehouse_guid, new_qty, reason, reference)
    total_after = total_before - old_qty + new_qty
    if total_after > 0:
        product["AverageLandPrice"] = ((total_before * avg + value_change) / total_after).quantize(_COST_PLACES)
    if line["NewActualValue"] is None:
        line["NewActualValue"] = (new_qty * product["AverageLandPrice"]).quantize(_COST_PLACES)


def create_adjustment(state: UnleashedState, guid: str, body: dict[str, Any]) -> Record:
    guid = guid.lower()
    check_guid_matches(guid, body)
    if guid in state.adjustments:
        raise UnleashedError(400, f"Stock adjustment '{guid}' already exists.", field="Guid")
    problems = Problems()
    warehouse = resolve_warehouse(state, body.get("Warehouse"), body.get("WarehouseCode"))
    reason = problems.text(body, "AdjustmentReason", max_len=20) or "Stock count"
    account = problems.text(body, "AccountCode", max_len=50)
    status = body.get("Status") or "Completed"
    if status not in STATUSES:
        problems.add("Status", f"Status must be one of {', '.join(STATUSES)}.")
    try:
        when = parse_body_date("AdjustmentDate", body.get("AdjustmentDate")) or state.now()
    except UnleashedError as exc:
        problems.add("AdjustmentDate", exc.description)
        when = state.now()
    raw_lines = body.get("StockAdjustmentLines")
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.add("StockAdjustmentLines", "A stock adjustment needs at least one line.")
        raw_lines = []
    lines: list[Record] = []
    for index, entry in enumerate(raw_lines):
        field = f"StockAdjustmentLines[{index}]"
        if not isinstance(entry, dict):
            problems.add(field, "Each line must be an object.")
            continue
        try:
            product = resolve_product(state, entry.get("Product"), f"{field}.Product")
        except UnleashedError as exc:
            problems.add(f"{field}.Product", exc.description)
            continue
        if product["NeverDiminishing"]:
            # A never-diminishing product holds no stock: Unleashed does not count it [I]
            # (https://support.unleashedsoftware.com/hc/en-us/articles/4402418310809).
            problems.add(f"{field}.Product", f"Product '{product['ProductCode']}' is never diminishing; its stock cannot be adjusted.")
            continue
        quantity = problems.decimal(entry, "NewQuantity", minimum=ZERO)
        if quantity is None:
            problems.add(f"{field}.NewQuantity", "NewQuantity is required.")
            continue
        lines.append({
            "Guid": str(entry.get("Guid") or state.new_id()).lower(),
            "LineNumber": int(entry.get("LineNumber") or index + 1),
            "Product": product_ref(product),
            "NewQuantity": quantity,
            "NewActualValue": problems.decimal(entry, "NewActualValue", minimum=ZERO),
            "Comments": entry.get("Comments"),
            "BatchNumbers": None,
            "SerialNumbers": None,
            "LastModifiedOn": state.now(),
        })
    problems.raise_if_any("The stock adjustment is not valid")
    now = state.now()
    number = state.next_number("SA")
    record: Record = {
        "Guid": guid, "AdjustmentNumber": number, "AdjustmentDate": when, "AdjustmentReason": reason,
        "AccountCode": account, "Status": status, "Warehouse": warehouse_ref(warehouse),
        "StockAdjustmentLines": lines, "ConfirmedBy": None, "ConfirmedOn": None,
        "CreatedBy": state.settings_user(), "CreatedOn": now, "LastModifiedBy": state.settings_user(),
        "LastModifiedOn": now,
    }
    if status == "Completed":
        for line in lines:
            _apply_line(state, line, warehouse["Guid"], number, reason)
        record["ConfirmedBy"], record["ConfirmedOn"] = state.settings_user(), now
    state.adjustments[guid] = record
    return record


def list_adjustments(state: UnleashedState, q: Query) -> list[Record]:
    since = q.date("modifiedSince")
    day = q.date("adjustmentDate")
    product_code, warehouse_code = q.get("productCode"), q.get("warehouseCode")
    rows = []
    for a in state.adjustments.values():
        if not modified_since(a["LastModifiedOn"], since):
            continue
        if day is not None and a["AdjustmentDate"].date() != day.date():
            continue
        if not starts_with(a["Warehouse"]["WarehouseCode"], warehouse_code):
            continue
        if product_code and not any(starts_with(ln["Product"]["ProductCode"], product_code) for ln in a["StockAdjustmentLines"]):
            continue
        rows.append(a)
    rows.sort(key=lambda a: a["AdjustmentNumber"])
    return [copy.deepcopy(a) for a in rows]
